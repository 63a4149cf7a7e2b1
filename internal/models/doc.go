// Package models holds the BBS wire messages (generated from proto/models)
// and the hand-written code the wire needs around them:
//
//   - Marshal and Unmarshal, the protobuf entry points every BBS server and
//     client uses. They keep the sub-messages the reference always writes
//     ("non-nullable" fields) present, so the bytes match the reference.
//   - MarshalJSON and UnmarshalJSON on every message, producing and reading
//     the JSON the reference printed with Go's encoding/json over its gogo
//     structs (cfdot output and specs, cell presences, task callbacks).
//
// See README.md in this directory for the vocabulary and the encoding
// decisions.
package models
