// Package config reads keepalived.conf files, unchanged, into a typed
// configuration for hagent.
//
// Reading happens in three stages, each in its own file:
//
//   - lexing (lexer.go, include.go): keepalived's line syntax — "#" and "!"
//     comments, quoted strings, braces as tokens, "include" with globs —
//     into tokens that each remember their file and line;
//   - tree building (tree.go): statements (a keyword, its arguments and an
//     optional { } block) nested as in the file;
//   - interpretation (parse_*.go) into the typed Config, followed by the
//     semantic checks of check.go.
//
// Every problem is reported as "FILE:LINE: message". Problems keepalived
// itself would refuse, or that would make hagent misbehave, are errors and
// are all collected (Load returns them together as *Errors); things
// keepalived logs and continues past are recorded in Config.Warnings.
//
// The package is pure: apart from reading the configuration files and the
// optional existence check of script files (see CheckFiles) it touches
// nothing on the host.
package config
