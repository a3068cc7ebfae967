// Package api serves hagent's gRPC API (proto hactl.v1 AgentService) over the agent.
//
// The pieces:
//
//   - Backend is what the agent implements: a status snapshot and the two controls.
//   - Hub is the agent's event bus: the agent publishes WatchResponse events into it; the
//     hub numbers them, keeps the last few for reconnecting clients and fans them out to
//     Watch streams without ever blocking the publisher.
//   - Server is the AgentService implementation, a thin shim over Backend and Hub.
//   - Listen and Server.Serve put it on unix sockets (peer must be root, checked with
//     SO_PEERCRED) and TCP (mutual TLS with the cluster CA, nothing else accepted).
//   - DialAgent is the matching client side for hactl; WriteCA, WriteCert and
//     GeneratePKI make the lab's certificates.
package api
