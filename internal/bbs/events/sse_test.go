package events

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

type tlsConfigs struct{ server, client *tls.Config }

// testTLS makes the server and client configs once for the test binary
// (RSA keys are slow to generate).
var testTLS = sync.OnceValues(func() (tlsConfigs, error) {
	ca, err := certs.NewAuthority("events-test-ca")
	if err != nil {
		return tlsConfigs{}, err
	}
	serverCert, serverKey, err := ca.Issue(certs.LocalNames("bbs"))
	if err != nil {
		return tlsConfigs{}, err
	}
	clientCert, clientKey, err := ca.Issue(certs.LocalNames("client"))
	if err != nil {
		return tlsConfigs{}, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM())
	sc, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		return tlsConfigs{}, err
	}
	cc, err := tls.X509KeyPair(clientCert, clientKey)
	if err != nil {
		return tlsConfigs{}, err
	}
	return tlsConfigs{
		server: &tls.Config{
			Certificates: []tls.Certificate{sc}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
			MinVersion: tls.VersionTLS12, CipherSuites: tlsconfig.CipherSuites,
		},
		client: &tls.Config{Certificates: []tls.Certificate{cc}, RootCAs: pool, MinVersion: tls.VersionTLS12},
	}, nil
})

// tlsServer starts an HTTPS server requiring client certificates and
// returns it with a client TLS config it accepts.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, *tls.Config) {
	t.Helper()
	cfgs, err := testTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = cfgs.server.Clone()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, cfgs.client.Clone()
}

func httpClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

// streamHandler serves hubs' events with opts and reports Stream's result.
func streamHandler(opts StreamOptions, result chan<- error, hubs ...*Hub) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var subs []*Subscription
		for _, h := range hubs {
			s, err := h.Subscribe()
			if err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			defer s.Close()
			subs = append(subs, s)
		}
		result <- Stream(w, r, opts, subs...)
	})
}

func frame(t *testing.T, id int, name string, msg proto.Message) string {
	t.Helper()
	payload, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return "id: " + strconv.Itoa(id) + "\nevent: " + name + "\ndata: " + base64.StdEncoding.EncodeToString(payload) + "\n\n"
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// timeoutContext bounds a test's reads, so that a broken stream fails the
// test instead of hanging it.
func timeoutContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func receive(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Stream did not return")
		return nil
	}
}

func TestAppendFrameIsTheReferenceFraming(t *testing.T) {
	msg := &models.TaskCreatedEvent{Task: &models.Task{TaskGuid: "task-1", Domain: "cf-tasks"}}
	got, err := AppendFrame(nil, 0, WithName("task_created", msg))
	if err != nil {
		t.Fatal(err)
	}
	// Appendix A: id: 0\nevent: task_created\ndata: <base64>\n\n
	payload, _ := proto.Marshal(msg)
	want := "id: 0\nevent: task_created\ndata: " + base64.StdEncoding.EncodeToString(payload) + "\n\n"
	if string(got) != want {
		t.Fatalf("frame\n%q\nwant\n%q", got, want)
	}
	// Padding is kept: a 1-byte payload encodes to 4 characters ending "==".
	got, err = AppendFrame([]byte("x"), 12, WithName("task_removed", &models.TaskRemovedEvent{Task: &models.Task{}}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "xid: 12\nevent: task_removed\ndata: CgA=\n\n"; string(got) != want {
		t.Fatalf("frame %q, want %q", got, want)
	}
}

func TestAppendFrameWritesNonNullableFields(t *testing.T) {
	// ActualLRPInstanceChangedEvent's keys are always on the wire.
	ev := WithName("actual_lrp_instance_changed", &models.ActualLRPInstanceChangedEvent{})
	got, err := AppendFrame(nil, 0, ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := "data: " + base64.StdEncoding.EncodeToString([]byte{0x0a, 0x00, 0x12, 0x00}) + "\n"; !strings.Contains(string(got), want) {
		t.Fatalf("frame %q lacks %q", got, want)
	}
}

// TestStreamOnTheWire reads the response bytes off a TLS connection: the
// headers of §2.2, one chunk per event, ids from 0, and the final chunk when
// the hub closes.
func TestStreamOnTheWire(t *testing.T) {
	hub := NewHub()
	result := make(chan error, 1)
	srv, clientTLS := tlsServer(t, streamHandler(StreamOptions{}, result, hub))

	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "POST /v1/events/tasks.r1 HTTP/1.1\r\nHost: bbs\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || status != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("status line %q, %v", status, err)
	}
	headers := map[string]string{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
		k, v, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ": ")
		headers[k] = v
	}
	for k, v := range map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache, no-store, must-revalidate",
		"Connection":        "keep-alive",
		"Transfer-Encoding": "chunked",
	} {
		if headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, headers[k], v)
		}
	}

	msgs := []*models.TaskCreatedEvent{
		{Task: &models.Task{TaskGuid: "small"}},
		{Task: &models.Task{TaskGuid: "large", TaskDefinition: &models.TaskDefinition{Annotation: strings.Repeat("a", 6000)}}},
		{Task: &models.Task{TaskGuid: "third"}},
	}
	for _, m := range msgs {
		hub.Emit(WithName("task_created", m))
	}
	for i, m := range msgs {
		chunk := readChunk(t, br)
		if want := frame(t, i, "task_created", m); chunk != want {
			t.Fatalf("chunk %d\n%q\nwant one event\n%q", i, chunk, want)
		}
	}
	hub.Close()
	if err := receive(t, result); !errors.Is(err, ErrHubClosed) {
		t.Fatalf("Stream returned %v, want ErrHubClosed", err)
	}
	if last := readChunk(t, br); last != "" {
		t.Fatalf("after the hub closed: chunk %q, want the final empty chunk", last)
	}
}

// readChunk reads one HTTP/1.1 chunk and returns its data ("" for the last).
func readChunk(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("chunk size line: %v", err)
	}
	sizeHex, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
	size, err := strconv.ParseInt(sizeHex, 16, 64)
	if err != nil {
		t.Fatalf("chunk size line %q: %v", line, err)
	}
	data := make([]byte, size+2)
	if _, err := io.ReadFull(br, data); err != nil {
		t.Fatal(err)
	}
	if string(data[size:]) != "\r\n" {
		t.Fatalf("chunk not terminated by CRLF: %q", data[size:])
	}
	return string(data[:size])
}

func openStream(t *testing.T, ctx context.Context, srv *httptest.Server, clientTLS *tls.Config) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/events/lrp_instances.r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := httpClient(clientTLS).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func nextEvent(t *testing.T, r *Reader) (Event, RawEvent) {
	t.Helper()
	raw, err := r.Next()
	if err != nil {
		t.Fatalf("reading an event: %v", err)
	}
	ev, err := Decode(raw)
	if err != nil {
		t.Fatalf("decoding %+v: %v", raw, err)
	}
	return ev, raw
}

func TestStreamRoundTripWithFilterAndConversion(t *testing.T) {
	desired, instances := NewHub(), NewHub()
	result := make(chan error, 1)
	opts := StreamOptions{
		Keep: func(ev Event) bool {
			m, ok := Message(ev).(*models.ActualLRPInstanceCreatedEvent)
			return !ok || m.GetActualLrp().GetActualLrpInstanceKey().GetCellId() == "cell-1"
		},
		Convert: func(ev Event) Event {
			if m, ok := Message(ev).(*models.DesiredLRPCreatedEvent); ok {
				c := proto.Clone(m).(*models.DesiredLRPCreatedEvent)
				c.TraceId = "converted"
				return WithName(ev.EventType(), c)
			}
			return ev
		},
	}
	srv, clientTLS := tlsServer(t, streamHandler(opts, result, desired, instances))
	res := openStream(t, timeoutContext(t), srv, clientTLS)
	r := NewReader(res.Body)

	onCell := func(cell string) Event {
		return WithName("actual_lrp_instance_created", &models.ActualLRPInstanceCreatedEvent{
			ActualLrp: &models.ActualLRP{ActualLrpInstanceKey: &models.ActualLRPInstanceKey{CellId: cell, InstanceGuid: "ig-" + cell}},
		})
	}
	instances.Emit(onCell("cell-2")) // filtered out
	instances.Emit(onCell("cell-1"))
	ev, raw := nextEvent(t, r)
	if raw.ID != "0" || ev.EventType() != "actual_lrp_instance_created" {
		t.Fatalf("first event %q id %q", ev.EventType(), raw.ID)
	}
	got := Message(ev).(*models.ActualLRPInstanceCreatedEvent)
	if got.GetActualLrp().GetActualLrpInstanceKey().GetCellId() != "cell-1" {
		t.Fatalf("filtered the wrong event: %v", got)
	}
	// Non-nullable fields came back filled.
	if got.GetActualLrp().GetActualLrpKey() == nil || got.GetActualLrp().GetActualLrpNetInfo() == nil {
		t.Fatal("non-nullable fields missing after decoding")
	}

	original := &models.DesiredLRPCreatedEvent{DesiredLrp: &models.DesiredLRP{ProcessGuid: "pg"}, TraceId: "t"}
	desired.Emit(WithName("desired_lrp_created", original))
	ev, raw = nextEvent(t, r)
	if raw.ID != "1" {
		t.Fatalf("second event id %q, want 1 (ids count written events)", raw.ID)
	}
	if d := Message(ev).(*models.DesiredLRPCreatedEvent); d.GetTraceId() != "converted" || d.GetDesiredLrp().GetProcessGuid() != "pg" {
		t.Fatalf("desired event %v", d)
	}
	if original.TraceId != "t" {
		t.Fatal("Convert changed the shared event")
	}

	desired.Close()
	if err := receive(t, result); !errors.Is(err, ErrHubClosed) {
		t.Fatalf("Stream returned %v", err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the stream ended: %v, want io.EOF", err)
	}
	waitFor(t, "the other subscription to be closed", func() bool { return instances.SubscriberCount() == 0 })
	instances.Close()
}

func TestStreamEndsWhenTheClientGoesAway(t *testing.T) {
	hub := NewHub()
	defer hub.Close()
	result := make(chan error, 1)
	srv, clientTLS := tlsServer(t, streamHandler(StreamOptions{}, result, hub))
	ctx, cancel := context.WithCancel(timeoutContext(t))
	res := openStream(t, ctx, srv, clientTLS)
	cancel()
	res.Body.Close()
	if err := receive(t, result); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stream returned %v, want context.Canceled", err)
	}
	waitFor(t, "the subscription to be closed", func() bool { return hub.SubscriberCount() == 0 })
}

func TestStreamCutsOffASlowConsumerAfterItsBuffer(t *testing.T) {
	hub := NewHub()
	defer hub.Close()
	subscribed, release := make(chan struct{}), make(chan struct{})
	result := make(chan error, 1)
	srv, clientTLS := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := hub.Subscribe()
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		defer s.Close()
		close(subscribed)
		<-release
		result <- Stream(w, r, StreamOptions{}, s)
	}))

	responses := make(chan *http.Response, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx := timeoutContext(t)
	wg.Go(func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/events/tasks.r1", nil)
		if err != nil {
			t.Error(err)
			close(responses)
			return
		}
		res, err := httpClient(clientTLS).Do(req)
		if err != nil {
			t.Error(err)
			close(responses)
			return
		}
		responses <- res
	})
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not subscribe")
	}
	for i := range SubscriberBuffer + 1 {
		hub.Emit(taskEvent(fmt.Sprint(i)))
	}
	close(release)
	res, ok := <-responses
	if !ok {
		t.FailNow()
	}
	defer res.Body.Close()

	r := NewReader(res.Body)
	for i := range SubscriberBuffer {
		ev, raw := nextEvent(t, r)
		if raw.ID != strconv.Itoa(i) || guidOf(t, ev) != strconv.Itoa(i) {
			t.Fatalf("event %d: id %q guid %q", i, raw.ID, guidOf(t, ev))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the buffered events: %v, want io.EOF", err)
	}
	if err := receive(t, result); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Stream returned %v", err)
	}
	if n := hub.SlowConsumersDropped(); n != 1 {
		t.Fatalf("SlowConsumersDropped = %d", n)
	}
}

func TestStreamMergesManySubscriptions(t *testing.T) {
	hubs := []*Hub{NewHub(), NewHub(), NewHub()}
	var subs []*Subscription
	for _, h := range hubs {
		subs = append(subs, mustSubscribe(t, h))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/events", nil)
	rec := httptest.NewRecorder()
	result := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { result <- Stream(rec, req, StreamOptions{}, subs...) })

	for i, h := range hubs {
		h.Emit(taskEvent(fmt.Sprint(i)))
	}
	waitFor(t, "all events to be taken", func() bool {
		for _, s := range subs {
			if len(s.C()) > 0 {
				return false
			}
		}
		return true
	})
	hubs[2].Close()
	err := receive(t, result)
	wg.Wait()
	if !errors.Is(err, ErrHubClosed) {
		t.Fatalf("Stream returned %v", err)
	}
	r := NewReader(strings.NewReader(rec.Body.String()))
	seen := map[string]bool{}
	for i := range 3 {
		ev, raw := nextEvent(t, r)
		if raw.ID != strconv.Itoa(i) {
			t.Fatalf("id %q, want %d", raw.ID, i)
		}
		seen[guidOf(t, ev)] = true
	}
	if len(seen) != 3 {
		t.Fatalf("events from hubs %v, want all three", seen)
	}
	for _, h := range hubs {
		h.Close()
	}
}

func TestStreamWithoutSubscriptions(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/v1/events", nil)
	if err := Stream(httptest.NewRecorder(), req, StreamOptions{}); err == nil {
		t.Fatal("Stream without subscriptions succeeded")
	}
}
