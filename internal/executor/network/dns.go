package network

import (
	"regexp"
	"strings"
)

var (
	// onlyLoopbackNameserver matches a whole resolv.conf made of one
	// nameserver line on 127.0.0.x (a local caching resolver).
	onlyLoopbackNameserver = regexp.MustCompile(`^\s*nameserver\s+127\.0\.0\.\d+\s*$`)
	// loopbackAddress finds a 127/8 address in a nameserver line.
	loopbackAddress = regexp.MustCompile(`127\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
)

// ResolvConf derives a container's /etc/resolv.conf from the cell's, the way
// Garden does:
//
//   - a file that is nothing but one `nameserver 127.0.0.x` line becomes
//     `nameserver <bridgeIP>` (the resolver is reached on the host);
//   - otherwise every non-empty line is kept as it is, except nameserver
//     lines: those naming a 127/8 address (unreachable from the container's
//     network namespace) and malformed ones are dropped, and the rest are
//     rewritten as `nameserver <address>`.
//
// Each entry ends with a newline.
func ResolvConf(cellResolvConf, bridgeIP string) string {
	if onlyLoopbackNameserver.MatchString(cellResolvConf) {
		return "nameserver " + bridgeIP + "\n"
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(cellResolvConf), "\n") {
		switch {
		case line == "":
			continue
		case !strings.HasPrefix(line, "nameserver"):
			b.WriteString(line + "\n")
		case loopbackAddress.MatchString(line):
			continue
		default:
			if f := strings.Fields(line); len(f) == 2 {
				b.WriteString("nameserver " + f[1] + "\n")
			}
		}
	}
	return b.String()
}

// maxHostsName is the longest hostname Garden writes into /etc/hosts; a
// longer handle keeps its last characters.
const maxHostsName = 49

// HostsFile returns a container's /etc/hosts, as Garden writes it:
// localhost on 127.0.0.1 and the container's hostname (its handle, cut to
// its last 49 characters) on its own address.
func HostsFile(containerIP, hostname string) string {
	if len(hostname) > maxHostsName {
		hostname = hostname[len(hostname)-maxHostsName:]
	}
	return "127.0.0.1 localhost\n" + containerIP + " " + hostname + "\n"
}
