package models

import "encoding/json"

// Routes on the wire are a ProtoRoutes: router name ("cf-router",
// "tcp-router", "diego-ssh", "internal-router", ...) to that router's opaque
// JSON document. The BBS stores and forwards the bytes untouched; only the
// JSON form parses them (and fails on values that are not JSON).

// NewRoutes returns the wire form of routes. The raw values are not copied.
func NewRoutes(routes map[string]json.RawMessage) *ProtoRoutes {
	pr := &ProtoRoutes{Routes: make(map[string][]byte, len(routes))}
	for k, v := range routes {
		pr.Routes[k] = v
	}
	return pr
}

// Raw returns the JSON document of router key, or nil when there is none.
func (x *ProtoRoutes) Raw(key string) json.RawMessage {
	return x.GetRoutes()[key]
}
