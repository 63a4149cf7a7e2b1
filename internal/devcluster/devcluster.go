// Package devcluster starts a whole cluster on one machine for a newcomer:
// it makes a private CA and certificates, writes each daemon's config on the
// embedded SQLite default, and runs the daemons as child processes in order.
// It grows with every daemon the project gains.
package devcluster

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	auctioneerdaemon "github.com/diego-go/diego/internal/auctioneer/daemon"
	bbsdaemon "github.com/diego-go/diego/internal/bbs/daemon"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/durationjson"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	locketdaemon "github.com/diego-go/diego/internal/locket/daemon"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/tedsuo/ifrit/grouper"
)

// Addresses of the local cluster: the reference's ports on loopback.
const (
	LocketAddress          = "127.0.0.1:8891"
	LocketDebugAddress     = "127.0.0.1:17018"
	BBSAddress             = "127.0.0.1:8889"
	BBSHealthAddress       = "127.0.0.1:8890"
	BBSDebugAddress        = "127.0.0.1:17017"
	AuctioneerAddress      = "127.0.0.1:9016"
	AuctioneerDebugAddress = "127.0.0.1:17001"
)

// Cluster is a prepared local cluster.
type Cluster struct {
	Dir    string // state: certificates, configs, databases, logs
	BinDir string // where the daemons' binaries are
	Client certs.Paths
}

// Prepare makes dir's certificates (once) and writes every config.
func Prepare(dir, binDir string) (*Cluster, error) {
	c := &Cluster{Dir: dir, BinDir: binDir}
	for _, sub := range []string{"certs", "config", "data", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	paths, err := c.ensureCerts()
	if err != nil {
		return nil, err
	}
	c.Client = paths["client"]

	lc := locketdaemon.DefaultConfig()
	lc.ListenAddress = LocketAddress
	lc.DebugAddress = LocketDebugAddress
	lc.CAFile, lc.CertFile, lc.KeyFile = paths["locket"].CAFile, paths["locket"].CertFile, paths["locket"].KeyFile
	lc.Config = sqldb.Config{
		DriverName:         "sqlite",
		ConnectionString:   filepath.Join(dir, "data", "locket.db"),
		MaxOpenConnections: 16,
		ConnectionTimeout:  durationjson.Duration(10 * time.Second),
	}
	if err := writeJSON(c.configPath("locket"), lc); err != nil {
		return nil, err
	}

	bc := bbsdaemon.DefaultConfig()
	bc.ListenAddress, bc.HealthAddress, bc.DebugAddress = BBSAddress, BBSHealthAddress, BBSDebugAddress
	bbsCert := paths["bbs"]
	bc.CAFile, bc.CertFile, bc.KeyFile = bbsCert.CAFile, bbsCert.CertFile, bbsCert.KeyFile
	bc.SQL = sqldb.Config{
		DriverName:         "sqlite",
		ConnectionString:   filepath.Join(dir, "data", "bbs.db"),
		MaxOpenConnections: 16,
		ConnectionTimeout:  durationjson.Duration(10 * time.Second),
	}
	key, err := c.encryptionKey()
	if err != nil {
		return nil, err
	}
	bc.Encryption = encryption.Config{ActiveKeyLabel: "diego-dev", EncryptionKeys: map[string]string{"diego-dev": key}}
	bc.UUID = "diego-dev-bbs-0"
	bc.Locket = locketclient.Config{
		LocketAddress: LocketAddress, LocketCACertFile: bbsCert.CAFile,
		LocketClientCertFile: bbsCert.CertFile, LocketClientKeyFile: bbsCert.KeyFile,
	}
	bc.AuctioneerAddress = "https://" + AuctioneerAddress
	bc.AuctioneerCACert, bc.AuctioneerClientCert, bc.AuctioneerClientKey = bbsCert.CAFile, bbsCert.CertFile, bbsCert.KeyFile
	bc.RepCACert, bc.RepClientCert, bc.RepClientKey = bbsCert.CAFile, bbsCert.CertFile, bbsCert.KeyFile
	if err := writeJSON(c.configPath("bbs"), bc); err != nil {
		return nil, err
	}
	if err := writeJSON(c.configPath("auctioneer"), auctioneerConfig(paths["auctioneer"])); err != nil {
		return nil, err
	}
	return c, nil
}

// auctioneerConfig serves the BBS's auctions on AuctioneerAddress with one
// certificate for everything: its API, and as a client of the BBS, of
// locket and of the reps, all signed by the cluster's CA.
func auctioneerConfig(cert certs.Paths) auctioneerdaemon.Config {
	ac := auctioneerdaemon.DefaultConfig()
	ac.ListenAddress, ac.DebugAddress = AuctioneerAddress, AuctioneerDebugAddress
	ac.CACertFile, ac.ServerCertFile, ac.ServerKeyFile = cert.CAFile, cert.CertFile, cert.KeyFile
	ac.BBSAddress = "https://" + BBSAddress
	ac.BBSCACertFile, ac.BBSClientCertFile, ac.BBSClientKeyFile = cert.CAFile, cert.CertFile, cert.KeyFile
	ac.RepCACert, ac.RepClientCert, ac.RepClientKey = cert.CAFile, cert.CertFile, cert.KeyFile
	ac.Locket = locketclient.Config{
		LocketAddress: LocketAddress, LocketCACertFile: cert.CAFile,
		LocketClientCertFile: cert.CertFile, LocketClientKeyFile: cert.KeyFile,
	}
	ac.UUID = "diego-dev-auctioneer-0"
	return ac
}

func (c *Cluster) configPath(name string) string {
	return filepath.Join(c.Dir, "config", name+".json")
}

// ensureCerts creates the CA and one certificate per daemon plus a client
// certificate for operators (cfdot), unless they exist.
func (c *Cluster) ensureCerts() (map[string]certs.Paths, error) {
	dir := filepath.Join(c.Dir, "certs")
	leaves := map[string][]string{
		"locket":     {"locket.service.cf.internal"},
		"bbs":        {"bbs.service.cf.internal"},
		"auctioneer": {"auctioneer.service.cf.internal"},
		"client":     nil,
	}
	out := map[string]certs.Paths{}
	missing := false
	for name := range leaves {
		p := certs.Paths{CAFile: filepath.Join(dir, "ca.crt"), CertFile: filepath.Join(dir, name+".crt"), KeyFile: filepath.Join(dir, name+".key")}
		out[name] = p
		for _, f := range []string{p.CAFile, p.CertFile, p.KeyFile} {
			if _, err := os.Stat(f); err != nil {
				missing = true
			}
		}
	}
	if !missing {
		return out, nil
	}
	ca, err := certs.NewAuthority("diego-dev CA")
	if err != nil {
		return nil, err
	}
	for name, dns := range leaves {
		p, err := ca.WriteLeaf(dir, name, certs.LocalNames(name, dns...))
		if err != nil {
			return nil, err
		}
		out[name] = p
	}
	return out, nil
}

// Members returns the daemons in start order.
func (c *Cluster) Members() grouper.Members {
	return grouper.Members{
		{Name: "locket", Runner: c.child("locket")},
		{Name: "bbs", Runner: c.child("bbs")},
		{Name: "auctioneer", Runner: c.child("auctioneer")},
	}
}

func (c *Cluster) child(name string) *Child {
	return &Child{
		Name:    name,
		Path:    filepath.Join(c.BinDir, name),
		Args:    []string{"-config", c.configPath(name)},
		LogPath: filepath.Join(c.Dir, "logs", name+".log"),
	}
}

// encryptionKey returns the local cluster's BBS passphrase, made once.
func (c *Cluster) encryptionKey() (string, error) {
	path := filepath.Join(c.Dir, "certs", "bbs-encryption-key")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	key := hex.EncodeToString(buf)
	return key, os.WriteFile(path, []byte(key), 0o600)
}

// Summary tells the operator what runs where.
func (c *Cluster) Summary() string {
	return fmt.Sprintf(`diego-dev: the local cluster is up.
  locket   %s (gRPC, mTLS)   debug/metrics http://%s/metrics
  bbs      https://%s (mTLS)   health http://%s   debug/metrics http://%s/metrics
  auctioneer https://%s (mTLS, places on the cells present in locket)   debug/metrics http://%s/metrics
  state    %s (logs in %s)

Talk to it with cfdot:
  export BBS_URL=https://%s
  export LOCKET_API_LOCATION=%s
  export CA_CERT_FILE=%s
  export CLIENT_CERT_FILE=%s
  export CLIENT_KEY_FILE=%s
  bin/cfdot locks; bin/cfdot desired-lrps; bin/cfdot distribution

Stop with Ctrl-C.
`, LocketAddress, LocketDebugAddress, BBSAddress, BBSHealthAddress, BBSDebugAddress, AuctioneerAddress, AuctioneerDebugAddress, c.Dir, filepath.Join(c.Dir, "logs"),
		BBSAddress, LocketAddress, c.Client.CAFile, c.Client.CertFile, c.Client.KeyFile)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
