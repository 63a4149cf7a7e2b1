package network

import (
	"encoding/json"
	"strconv"
)

// PortMapping is one container port and where the cell exposes it.
type PortMapping struct {
	// ContainerPort is the port the app listens on inside the container.
	ContainerPort uint16 `json:"container_port"`
	// HostPort is the port on the cell's host address mapped to it.
	HostPort uint16 `json:"host_port"`
	// ContainerTLSProxyPort and HostTLSProxyPort are the envoy proxy's
	// ports for this app port (0 without a proxy).
	ContainerTLSProxyPort uint16 `json:"container_tls_proxy_port,omitempty"`
	HostTLSProxyPort      uint16 `json:"host_tls_proxy_port,omitempty"`
}

// cfPortMapping is one element of CF_INSTANCE_PORTS. The field order and
// the omitted zero values are the reference's: only "internal" is always
// present.
type cfPortMapping struct {
	External         uint16 `json:"external,omitempty"`
	Internal         uint16 `json:"internal"`
	ExternalTLSProxy uint16 `json:"external_tls_proxy,omitempty"`
	InternalTLSProxy uint16 `json:"internal_tls_proxy,omitempty"`
}

// InstanceEnv returns the networking variables the reference executor adds
// to the environment of every process it runs (NAME=value, in its order):
//
//   - CF_INSTANCE_IP: the cell's host address (externalIP);
//   - CF_INSTANCE_INTERNAL_IP: the container's own address;
//   - CF_INSTANCE_INTERNAL_IPV6, only when the container has one;
//   - CF_INSTANCE_PORT and CF_INSTANCE_ADDR (<host ip>:<port>) from the
//     first mapping, only when it has a host port;
//   - CF_INSTANCE_PORTS, a JSON array of {"external", "internal",
//     "external_tls_proxy", "internal_tls_proxy"} with zero values left out
//     except "internal".
//
// Without mappings: CF_INSTANCE_PORT=, CF_INSTANCE_ADDR= and
// CF_INSTANCE_PORTS=[].
func InstanceEnv(externalIP, internalIP, internalIPv6 string, ports []PortMapping) []string {
	env := []string{
		"CF_INSTANCE_IP=" + externalIP,
		"CF_INSTANCE_INTERNAL_IP=" + internalIP,
	}
	if internalIPv6 != "" {
		env = append(env, "CF_INSTANCE_INTERNAL_IPV6="+internalIPv6)
	}
	if len(ports) == 0 {
		return append(env, "CF_INSTANCE_PORT=", "CF_INSTANCE_ADDR=", "CF_INSTANCE_PORTS=[]")
	}
	if first := ports[0].HostPort; first > 0 {
		p := strconv.Itoa(int(first))
		env = append(env, "CF_INSTANCE_PORT="+p, "CF_INSTANCE_ADDR="+externalIP+":"+p)
	}
	mappings := make([]cfPortMapping, len(ports))
	for i, p := range ports {
		mappings[i] = cfPortMapping{
			External:         p.HostPort,
			Internal:         p.ContainerPort,
			ExternalTLSProxy: p.HostTLSProxyPort,
			InternalTLSProxy: p.ContainerTLSProxyPort,
		}
	}
	// Marshalling a slice of integer structs cannot fail.
	b, _ := json.Marshal(mappings)
	return append(env, "CF_INSTANCE_PORTS="+string(b))
}

// IdentityEnv returns the variables the reference rep puts first in an LRP
// instance's container environment, before the desired LRP's own:
// INSTANCE_GUID, INSTANCE_INDEX, CF_INSTANCE_GUID, CF_INSTANCE_INDEX. Tasks
// get none of them.
func IdentityEnv(instanceGUID string, index int32) []string {
	i := strconv.Itoa(int(index))
	return []string{
		"INSTANCE_GUID=" + instanceGUID,
		"INSTANCE_INDEX=" + i,
		"CF_INSTANCE_GUID=" + instanceGUID,
		"CF_INSTANCE_INDEX=" + i,
	}
}
