package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

func rawPost(t *testing.T, api *bbstest.API, method, path string, body []byte) (*http.Response, []byte) {
	t.Helper()
	tc, err := tlsconfig.Client(tlsconfig.Files{CAFile: api.PKI.Client.CAFile, CertFile: api.PKI.Client.CertFile, KeyFile: api.PKI.Client.KeyFile}, "")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(method, api.URL+path, bytes.NewReader(body))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestPingDomainsCells(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	if !api.Client.Ping(ctx) {
		t.Fatal("ping")
	}
	resp, body := rawPost(t, api, "POST", "/v1/ping", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, []byte{0x08, 0x01}) || resp.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("ping answered %d %x %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	if err := api.Client.UpsertDomain(ctx, "cf-apps", 0); err != nil {
		t.Fatal(err)
	}
	if err := api.Client.UpsertDomain(ctx, "", time.Minute); !isType(err, models.Error_InvalidRequest) {
		t.Fatalf("empty domain: %v", err)
	}
	domains, err := api.Client.Domains(ctx)
	if err != nil || len(domains) != 1 || domains[0] != "cf-apps" {
		t.Fatalf("domains %v, %v", domains, err)
	}
	api.Cells.Set(bbstest.Cell("cell-1", "z1"))
	cells, err := api.Client.Cells(ctx)
	if err != nil || len(cells) != 1 || cells[0].GetCellId() != "cell-1" {
		t.Fatalf("cells %v, %v", cells, err)
	}
}

func TestRouterAnswers(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	resp, body := rawPost(t, api, "POST", "/v1/nothing", nil)
	if resp.StatusCode != 404 || string(body) != "404 page not found\n" {
		t.Fatalf("unknown path: %d %q", resp.StatusCode, body)
	}
	resp, _ = rawPost(t, api, "GET", "/v1/ping", nil)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" {
		t.Fatalf("wrong method: %d allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// Bytes that are not an UpsertDomainRequest: in-band bad request.
	resp, body = rawPost(t, api, "POST", "/v1/domains/upsert", []byte{0x0a, 0xff, 0xff})
	var out models.UpsertDomainResponse
	if resp.StatusCode != 200 || models.Unmarshal(body, &out) != nil || out.GetError().GetType() != models.Error_InvalidRequest ||
		out.GetError().GetMessage() != "the request received is invalid" {
		t.Fatalf("garbage: %d %v", resp.StatusCode, &out)
	}
}

func isType(err error, typ models.Error_Type) bool {
	e := models.ConvertError(err)
	return e != nil && e.GetType() == typ
}
