package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"code.cloudfoundry.org/lager/v3"
	"github.com/vishvananda/netlink"
)

// Teardown removes container id's network: its egress chains, the CNI
// attachment (veth, address, masquerading and host-port rules), the network
// namespace and files, and frees its host ports. Delete the container
// first. It is idempotent: an unknown id succeeds. When the CNI DEL fails
// the record and the host ports are kept, so that a retry (or Cleanup) can
// finish.
func (m *Manager) Teardown(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	m.mu.Lock()
	rec := m.active[id]
	m.mu.Unlock()
	if rec == nil {
		rec = readRecord(m.recordPath(id))
	}
	nsPath := m.netnsPath(id)
	_, statErr := os.Stat(nsPath)
	hasNetNS := statErr == nil

	var errs []error
	if err := m.fw.removeContainer(id, rec); err != nil {
		errs = append(errs, fmt.Errorf("removing egress chains: %w", err))
	}
	delFailed := false
	if rec != nil || hasNetNS {
		netns := ""
		if hasNetNS {
			netns = nsPath
		}
		if err := m.cni.DelNetworkList(ctx, m.netConf, m.runtimeConf(id, netns)); err != nil {
			delFailed = true
			errs = append(errs, fmt.Errorf("CNI DEL of %s: %w", id, err))
		}
	}
	if err := removeNetNS(nsPath); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(filepath.Join(m.filesDir, id)); err != nil {
		errs = append(errs, err)
	}
	if !delFailed {
		if err := os.Remove(m.recordPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		m.mu.Lock()
		delete(m.active, id)
		m.mu.Unlock()
		m.ports.release(rec.hostPorts())
	}
	if err := errors.Join(errs...); err != nil {
		m.logger.Error("failed-to-tear-down", err, lager.Data{"id": id})
		return err
	}
	return nil
}

// Cleanup removes every container network this cell's state shows (what a
// previous run left: namespaces, records, chains, plugin rules, IPAM
// allocations, CNI cache, files) and frees every host port. Call it at
// start, before any Setup. The bridge and the cell's chains stay.
func (m *Manager) Cleanup(ctx context.Context) error {
	logger := m.logger.Session("cleanup")
	ids := map[string]bool{}
	for _, dir := range []string{m.netnsDir, m.recordsDir, m.filesDir} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			id := strings.TrimSuffix(e.Name(), ".json")
			if validID(id) == nil {
				ids[id] = true
			}
		}
	}
	var errs []error
	for id := range ids {
		if err := m.Teardown(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.fw.sweepContainers(); err != nil {
		errs = append(errs, fmt.Errorf("removing egress chains: %w", err))
	}
	if err := m.fw.sweepPluginRules(m.cfg.networkName()); err != nil {
		errs = append(errs, fmt.Errorf("removing CNI plugin rules: %w", err))
	}
	// Whatever is left is stale: allocations and cache entries of
	// attachments that are gone.
	for _, d := range []string{m.recordsDir, m.filesDir, m.cacheDir, filepath.Join(m.ipamDir, m.cfg.networkName())} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []string{m.recordsDir, m.filesDir, m.cacheDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			errs = append(errs, err)
		}
	}
	m.mu.Lock()
	m.active = map[string]*record{}
	m.mu.Unlock()
	m.ports.reset()
	logger.Info("done", lager.Data{"containers": len(ids)})
	return errors.Join(errs...)
}

// Destroy removes everything of this cell's network from the machine:
// what Cleanup removes, then the cell's chains, the bridge and the state
// directories. For tests and a development cluster's shutdown.
func (m *Manager) Destroy(ctx context.Context) error {
	errs := []error{m.Cleanup(ctx), m.fw.uninstall()}
	if link, err := netlink.LinkByName(m.cfg.BridgeName); err == nil {
		if err := netlink.LinkDel(link); err != nil {
			errs = append(errs, fmt.Errorf("deleting bridge %s: %w", m.cfg.BridgeName, err))
		}
	} else if !errors.As(err, &netlink.LinkNotFoundError{}) {
		errs = append(errs, err)
	}
	for _, d := range []string{m.netnsDir, m.recordsDir, m.filesDir, m.ipamDir, m.cacheDir} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeFiles writes container id's resolv.conf and hosts.
func (m *Manager) writeFiles(id, ip, gateway string) (resolvPath, hostsPath string, err error) {
	cellResolv, err := os.ReadFile(m.cfg.ResolvConf)
	if err != nil {
		return "", "", fmt.Errorf("reading the cell's resolv.conf: %w", err)
	}
	dir := filepath.Join(m.filesDir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	resolvPath, hostsPath = filepath.Join(dir, "resolv.conf"), filepath.Join(dir, "hosts")
	if err := os.WriteFile(resolvPath, []byte(ResolvConf(string(cellResolv), gateway)), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(hostsPath, []byte(HostsFile(ip, id)), 0o644); err != nil {
		return "", "", err
	}
	return resolvPath, hostsPath, nil
}

// writeRecord writes rec atomically.
func writeRecord(path string, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readRecord reads a record; a missing or unreadable one is nil.
func readRecord(path string) *record {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var rec record
	if json.Unmarshal(b, &rec) != nil {
		return nil
	}
	return &rec
}
