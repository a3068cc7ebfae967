// Package sanitize makes text that comes from outside the agent (script and
// notify output, HTTP reason phrases, process and file names, certificate
// names, config error text) safe to carry in the API.
//
// Protobuf refuses to marshal a string field that is not valid UTF-8, so one
// Latin-1 or GBK byte in a check's output would make GetStatus and every
// Watch stream fail with Internal for as long as the text stays in the
// status or the event history. Every such string goes through UTF8 or Clip
// where it enters the agent, and Message is the last line of defence on the
// way out.
package sanitize
