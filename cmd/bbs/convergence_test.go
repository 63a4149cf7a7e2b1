package main_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/models"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// auctioneerStub plays the auctioneer on loopback, over mTLS with the
// cluster's CA, recording the LRP auction requests the BBS sends.
type auctioneerStub struct {
	mu       sync.Mutex
	requests []received
}

type received struct {
	at  time.Time
	req *auctioneerclient.LRPStartRequest
}

func (c *cluster) startAuctioneerStub(addr string) *auctioneerStub {
	c.t.Helper()
	stub := &auctioneerStub{}
	cert, err := tls.LoadX509KeyPair(c.server.CertFile, c.server.KeyFile)
	if err != nil {
		c.t.Fatal(err)
	}
	caPEM, err := os.ReadFile(c.server.CAFile)
	if err != nil {
		c.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+auctioneerclient.LRPAuctionsPath, func(w http.ResponseWriter, r *http.Request) {
		var reqs []*auctioneerclient.LRPStartRequest
		if err := json.NewDecoder(r.Body).Decode(&reqs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now()
		stub.mu.Lock()
		for _, req := range reqs {
			stub.requests = append(stub.requests, received{now, req})
		}
		stub.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST "+auctioneerclient.TaskAuctionsPath, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	c.t.Cleanup(func() { _ = srv.Close() })
	return stub
}

// firstFor returns when index of processGUID was first requested after
// since, or the zero time.
func (s *auctioneerStub) firstFor(processGUID string, index int32, since time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.requests {
		if r.req.ProcessGuid == processGUID && !r.at.Before(since) && slices.Contains(r.req.Indices, int(index)) {
			return r.at
		}
	}
	return time.Time{}
}

// TestVanishedCellIsReplacedBetweenPasses runs a BBS whose convergence
// passes are an hour apart, with a cell whose presence in locket is never
// refreshed: when locket expires the presence, the BBS notices within its
// cell poll interval, makes the instance there a suspect and asks the
// auctioneer for a replacement, long before any pass.
func TestVanishedCellIsReplacedBetweenPasses(t *testing.T) {
	const presenceTTL = 3 // seconds
	c := newCluster(t)
	cfg := c.config(sqliteDB(t), "bbs-converge", testKeys)
	cfg.ConvergeRepeatInterval = durationjson.Duration(time.Hour)
	auctioneer := c.startAuctioneerStub(strings.TrimPrefix(cfg.AuctioneerAddress, "https://"))
	ctx := ctxT(t)

	// A cell that registers once and then goes silent, as a crashed rep.
	cellID := "cell-gone"
	value, err := json.Marshal(&models.CellPresence{
		CellId: cellID, RepAddress: "http://127.0.0.1:1800", RepUrl: "https://127.0.0.1:1801", Zone: "z1",
		Capacity: &models.CellCapacity{MemoryMb: 1024, DiskMb: 1024, Containers: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	locket := c.locket.Dial()
	if _, err := locket.Lock(ctx, &locketpb.LockRequest{
		Resource:     &locketpb.Resource{Key: cellID, Owner: "rep-gone", Value: string(value), TypeCode: locketpb.TypeCode_PRESENCE},
		TtlInSeconds: presenceTTL,
	}); err != nil {
		t.Fatal(err)
	}
	registered := time.Now()

	bbs := c.start(cfg)
	client := c.clientFor(cfg)
	if err := client.UpsertDomain(ctx, "cf-apps", 0); err != nil {
		t.Fatal(err)
	}
	if err := client.DesireLRP(ctx, desiredLRP("app", 1)); err != nil {
		t.Fatal(err)
	}
	key := &models.ActualLRPKey{ProcessGuid: "app", Index: 0, Domain: "cf-apps"}
	instance := &models.ActualLRPInstanceKey{InstanceGuid: "ig-1", CellId: cellID}
	if err := client.ClaimActualLRP(ctx, key, instance); err != nil {
		t.Fatal(err)
	}
	if err := client.StartActualLRP(ctx, &models.StartActualLRPRequest{
		ActualLrpKey: key, ActualLrpInstanceKey: instance,
		ActualLrpNetInfo: &models.ActualLRPNetInfo{Address: "10.0.0.1", InstanceAddress: "10.255.0.1"},
	}); err != nil {
		t.Fatal(err)
	}
	running := time.Now() // the desire's own auction request came before
	if time.Since(registered) >= presenceTTL*time.Second {
		t.Skip("the machine is too slow: the presence expired before the instance ran")
	}

	// The presence expired between lastSeen and expired.
	var lastSeen, expired, requested time.Time
	for deadline := time.Now().Add(presenceTTL*time.Second + 20*time.Second); requested.IsZero(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no replacement requested; BBS log:\n%s", bbs.Stdout())
		}
		if expired.IsZero() {
			asked := time.Now()
			_, err := locket.Fetch(ctx, &locketpb.FetchRequest{Key: cellID})
			switch {
			case err == nil:
				lastSeen = asked
			case status.Code(err) == codes.NotFound:
				expired = time.Now()
			default:
				t.Fatal(err)
			}
		}
		requested = auctioneer.firstFor("app", 0, running)
	}
	if !requested.After(lastSeen) {
		t.Fatalf("replacement requested at %s, but the presence was still there at %s", requested.Format(time.RFC3339Nano), lastSeen.Format(time.RFC3339Nano))
	}
	if expired.IsZero() {
		expired = requested // the BBS saw it gone before this test did
	}
	t.Logf("instance of the vanished cell requested again %s after its presence expired (cell poll interval 1 s, pass interval 1 h)",
		requested.Sub(expired).Round(time.Millisecond))

	groups, err := client.ActualLRPs(ctx, bbsclient.ActualLRPFilter{ProcessGuid: "app"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, lrp := range groups {
		got = append(got, lrp.GetPresence().String()+":"+lrp.GetState()+"@"+lrp.GetActualLrpInstanceKey().GetCellId())
	}
	slices.Sort(got)
	if want := []string{"ORDINARY:UNCLAIMED@", "SUSPECT:RUNNING@" + cellID}; !slices.Equal(got, want) {
		t.Fatalf("actual LRPs %v, want %v", got, want)
	}
}
