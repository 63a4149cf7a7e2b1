package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// InvalidResponseMessage is the text of the error for a non-protobuf answer
// with a status above 299.
const InvalidResponseMessage = "Invalid Response with status code: %d"

// ErrEndpointNotFound is returned (this very value) when the BBS answers a
// plain-text 404: the route does not exist on that BBS. Compare with ==;
// errors.Is matches every InvalidResponse error.
var ErrEndpointNotFound = models.NewError(models.Error_InvalidResponse, fmt.Sprintf(InvalidResponseMessage, http.StatusNotFound))

// errorCarrier is every response message but PingResponse.
type errorCarrier interface {
	GetError() *models.Error
}

// call sends req to the named route and decodes the answer into resp. It
// returns the transport error after the retries, else the in-band error.
func (c *Client) call(ctx context.Context, name string, req, resp proto.Message) error {
	if err := c.do(ctx, name, req, resp); err != nil {
		return err
	}
	return inBand(resp)
}

// inBand returns the error the BBS put in resp, or nil.
func inBand(resp proto.Message) error {
	if ec, ok := resp.(errorCarrier); ok {
		if e := ec.GetError(); e != nil {
			return e
		}
	}
	return nil
}

// do sends req to the named route up to c.retries times until an attempt
// gets an answer it can decode into resp; in-band errors count as answers.
func (c *Client) do(ctx context.Context, name string, req, resp proto.Message) error {
	proto.Reset(resp)
	return c.doDecode(ctx, name, req, func(buf []byte) error {
		proto.Reset(resp) // nothing of an earlier attempt may show through
		if err := models.Unmarshal(buf, resp); err != nil {
			return models.NewError(models.Error_InvalidProtobufMessage, "failed to unmarshal proto: "+err.Error())
		}
		return nil
	})
}

// CountListed asks the named list route and counts the elements of the
// response's repeated field without decoding them: the time a BBS takes to
// answer a bulk list, without the client's decoding (for diego-bench). An
// in-band error (field 1) is returned.
func (c *Client) CountListed(ctx context.Context, name string, req proto.Message, field protowire.Number) (int, error) {
	var n int
	err := c.doDecode(ctx, name, req, func(buf []byte) error {
		n = 0
		for len(buf) > 0 {
			num, typ, l := protowire.ConsumeTag(buf)
			if l < 0 {
				return models.NewError(models.Error_InvalidProtobufMessage, "bad tag in list response")
			}
			buf = buf[l:]
			if num == 1 && typ == protowire.BytesType {
				v, l := protowire.ConsumeBytes(buf)
				if l < 0 {
					return models.NewError(models.Error_InvalidProtobufMessage, "bad error in list response")
				}
				e := &models.Error{}
				if err := models.Unmarshal(v, e); err != nil {
					return models.NewError(models.Error_InvalidProtobufMessage, err.Error())
				}
				return e
			}
			l = protowire.ConsumeFieldValue(num, typ, buf)
			if l < 0 {
				return models.NewError(models.Error_InvalidProtobufMessage, "bad field in list response")
			}
			buf = buf[l:]
			if num == field {
				n++
			}
		}
		return nil
	})
	return n, err
}

// doDecode is do with the answer handed to decode.
func (c *Client) doDecode(ctx context.Context, name string, req proto.Message, decode func([]byte) error) error {
	route, err := routeByName(name)
	if err != nil {
		return err
	}
	var body []byte
	if req != nil {
		if body, err = models.Marshal(req); err != nil {
			return fmt.Errorf("bbs client: encoding %s request: %w", name, err)
		}
	}
	id := requestIDFor(ctx)
	for attempt := 1; ; attempt++ {
		err = c.attempt(ctx, route, id, body, decode)
		if err == nil || attempt >= c.retries || ctx.Err() != nil {
			return err
		}
		if !sleep(ctx, c.retryInterval) {
			return err
		}
	}
}

// attempt makes one request.
func (c *Client) attempt(ctx context.Context, route routes.Route, id string, body []byte, decode func([]byte) error) error {
	req, err := http.NewRequestWithContext(ctx, route.Method, c.baseURL+route.Path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("bbs client: %w", err)
	}
	req.Header.Set("Content-Type", routes.ProtobufContentType)
	req.Header.Set(routes.RequestIDHeader, id)
	res, err := c.http.Do(req)
	if err != nil {
		return transportError(err)
	}
	defer res.Body.Close()

	if v, ok := res.Header[routes.RouterErrorHeader]; ok && len(v) > 0 {
		drain(res.Body)
		return models.NewError(models.Error_RouterError, v[0])
	}
	mediaType, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mediaType != routes.ProtobufContentType {
		drain(res.Body)
		switch {
		case res.StatusCode == http.StatusNotFound:
			return ErrEndpointNotFound
		case res.StatusCode > 299:
			return models.NewError(models.Error_InvalidResponse, fmt.Sprintf(InvalidResponseMessage, res.StatusCode))
		}
		return nil
	}
	buf, err := io.ReadAll(res.Body)
	if err != nil {
		if isTimeout(err) {
			return models.NewError(models.Error_Timeout, err.Error())
		}
		return models.NewError(models.Error_InvalidResponse, "failed to read body: "+err.Error())
	}
	return decode(buf)
}

// transportError converts timeouts to the Timeout error type.
func transportError(err error) error {
	if isTimeout(err) {
		return models.NewError(models.Error_Timeout, err.Error())
	}
	return err
}

// drain reads a little of an unwanted body so that the connection can be
// reused.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 4<<10))
}
