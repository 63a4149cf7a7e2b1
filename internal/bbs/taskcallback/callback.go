package taskcallback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/httpclient"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// MaxAttempts is how many times one callback is posted at most.
const MaxAttempts = 3

// DefaultTimeout is the reference's communication_timeout.
const DefaultTimeout = 10 * time.Second

// NewHTTPClient returns the client callbacks are posted with: the BBS
// presents its own server certificate (cert_file, key_file) and trusts the
// CAs of ca_file; each attempt is bounded by timeout (communication_timeout,
// DefaultTimeout when zero). Plain http URLs work too.
func NewHTTPClient(files tlsconfig.Files, timeout time.Duration) (*http.Client, error) {
	tc, err := tlsconfig.Client(files, "")
	if err != nil {
		return nil, fmt.Errorf("task callback client: %w", err)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return httpclient.New(tc, httpclient.Options{Timeout: timeout}), nil
}

// Handle runs the callback of one completed task synchronously: what each
// worker does with a submitted task. It gives up, leaving the task for
// convergence, when ctx ends.
func (p *Pool) Handle(ctx context.Context, task *models.Task) {
	url := task.GetTaskDefinition().GetCompletionCallbackUrl()
	if url == "" {
		return
	}
	guid := task.GetTaskGuid()
	logger := p.logger.Session("handle-completed-task", lager.Data{"task_guid": guid})

	before, after, err := p.db.ResolvingTask(ctx, guid)
	if err != nil {
		logger.Error("marking-task-as-resolving-failed", err)
		return
	}
	p.emit(models.NewTaskChangedEvent(before, after))

	logger = logger.WithData(lager.Data{"callback_url": url})
	body, err := json.Marshal(&models.TaskCallbackResponse{
		TaskGuid:      guid,
		Failed:        task.GetFailed(),
		FailureReason: task.GetFailureReason(),
		Result:        task.GetResult(),
		Annotation:    task.GetTaskDefinition().GetAnnotation(),
		CreatedAt:     task.GetCreatedAt(),
	})
	if err != nil {
		logger.Error("marshalling-task-failed", err)
		return
	}

	status := 0
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		status, err = p.post(ctx, url, body)
		if err != nil {
			if ctx.Err() == nil && retriable(err) {
				logger.Info("retrying-callback", lager.Data{"attempt": attempt, "error": err.Error()})
				continue
			}
			logger.Error("doing-request-failed", err, lager.Data{"attempt": attempt})
			return
		}
		if status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout {
			continue
		}
		// Any other answer, even 4xx or 500, means the owner has seen the
		// result: the task is done.
		deleted, err := p.db.DeleteTask(ctx, guid)
		if err != nil {
			logger.Error("delete-task-failed", err)
			return
		}
		p.emit(models.NewTaskRemovedEvent(deleted))
		return
	}
	logger.Info("callback-failed", lager.Data{"status_code": status})
}

// post sends one attempt and returns the answer's status.
func (p *Pool) post(ctx context.Context, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// retriable reports the transport failures worth another attempt: the
// client's timeout and a connection closed under the request. Anything
// else (refused, reset, TLS failure, bad URL) ends the callback.
func retriable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "use of closed network connection")
}
