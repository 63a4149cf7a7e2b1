package containerd_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/rootfs"
)

func TestParseDockerURI(t *testing.T) {
	const dgst = "sha256:9d869021b7f1bf4d7cfc1df10d69bcbb61ce236326abc9c98c690a35f10e8348"
	good := []struct{ uri, ref, registry string }{
		{"docker:///busybox", "docker.io/library/busybox:latest", "docker.io"},
		{"docker:///busybox#1.36", "docker.io/library/busybox:1.36", "docker.io"},
		{"docker:///busybox:1.36", "docker.io/library/busybox:1.36", "docker.io"},
		{"docker:///cloudfoundry/diego-docker-app#latest", "docker.io/cloudfoundry/diego-docker-app:latest", "docker.io"},
		{"docker://cloudfoundry/lattice-app", "docker.io/cloudfoundry/lattice-app:latest", "docker.io"},
		{"docker://127.0.0.1:5000/diego/app#v1", "127.0.0.1:5000/diego/app:v1", "127.0.0.1:5000"},
		{"docker://registry.example.com/a/b/c#" + dgst, "registry.example.com/a/b/c@" + dgst, "registry.example.com"},
		{"docker://localhost/app", "localhost/app:latest", "localhost"},
	}
	for _, tc := range good {
		img, err := containerd.ParseDockerURI(tc.uri)
		if err != nil {
			t.Errorf("ParseDockerURI(%q): %v", tc.uri, err)
			continue
		}
		if img.Ref() != tc.ref || img.Registry() != tc.registry {
			t.Errorf("ParseDockerURI(%q) = %s on %s, want %s on %s", tc.uri, img.Ref(), img.Registry(), tc.ref, tc.registry)
		}
	}
	bad := map[string]string{
		"docker://":                            "no repository",
		"docker:///":                           "no repository",
		"docker:busybox":                       "want docker:///",
		"http://example.com/busybox":           "scheme is not docker",
		"docker:///Busybox":                    "must be lowercase",
		"docker:///busybox#bad tag":            "bad tag",
		"docker:///busybox#sha256:zz":          "bad digest",
		"docker:///busybox:1#2":                "both the path and the fragment",
		"docker://user:secret@host.io/busybox": "image_username",
		"docker:///busybox?tag=1":              "query",
		"docker://%zz/x":                       "not a URL",
	}
	for uri, want := range bad {
		_, err := containerd.ParseDockerURI(uri)
		if !errors.Is(err, containerd.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDockerURI(%q) = %v, want ErrInvalid mentioning %q", uri, err, want)
		}
	}
}

// imageLayers builds the layers of the test image: the busybox stack, then
// a layer with its own /etc/passwd (user app, 3000) and a marker file.
func imageLayers(t *testing.T, marker string) [][]byte {
	t.Helper()
	dir := t.TempDir()
	if err := rootfs.BuildBusybox(dir, ""); err != nil {
		t.Fatal(err)
	}
	top := tarFiles(t, map[string]string{
		"etc/passwd":       "root:x:0:0:root:/root:/bin/sh\napp:x:3000:3000::/home/vcap:/bin/sh\n",
		"etc/image-marker": marker + "\n",
	})
	return [][]byte{tarDir(t, dir), top}
}

func (e *env) backendWith(t *testing.T, edit func(*containerd.Config)) *containerd.Backend {
	t.Helper()
	cfg := e.cfg
	edit(&cfg)
	return newBackend(t, cfg)
}

func createIn(t *testing.T, b *containerd.Backend, spec containerd.ContainerSpec) *containerd.Container {
	t.Helper()
	c, err := b.Create(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Create(%s, %s): %v", spec.ID, spec.RootFS, err)
	}
	t.Cleanup(func() { _ = b.Delete(context.Background(), spec.ID) })
	return c
}

func TestDockerImageIsPulledOnceAndGivesItsEnvUserAndFiles(t *testing.T) {
	e := newEnv(t)
	reg := startRegistry(t, registryOpts{})
	layers := imageLayers(t, "v1")
	reg.push(t, "diego/app", "v1", testImage{layers: layers, user: "app",
		env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "IMAGE_ONLY=image", "BOTH=image"}})
	proxy := reg.proxy(t)
	b := e.backendWith(t, func(c *containerd.Config) { c.InsecureRegistries = []string{proxy.Host} })
	uri := "docker://" + proxy.Host + "/diego/app#v1"

	// Concurrent creates share one pull.
	const n = 5
	ctrs := make([]*containerd.Container, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("docker-%d", i)
			ctrs[i], errs[i] = b.Create(testCtx(t), containerd.ContainerSpec{ID: id, RootFS: uri, Env: []string{"BOTH=container"}})
			t.Cleanup(func() { _ = b.Delete(context.Background(), id) })
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	t.Logf("%d concurrent creates: %d manifest requests", n, proxy.manifestRequests())
	// One resolve of the tag, one of the digest, one manifest download.
	if got := proxy.manifestRequests(); got > 3 {
		t.Errorf("%d manifest requests for %d concurrent creates, want one pull (3)", got, n)
	}
	for _, l := range layers {
		if got := proxy.downloads(reg, l); got != 1 {
			t.Errorf("layer downloaded %d times by %d concurrent creates, want 1", got, n)
		}
	}
	img := ctrs[0].Image()
	if img.User != "app" || !slices.Contains(img.Env, "IMAGE_ONLY=image") || !strings.Contains(img.Ref, "@sha256:") {
		t.Errorf("Image() = %+v", img)
	}
	spec := sh(`echo "$IMAGE_ONLY $BOTH $(id -u) $HOME"; cat /etc/image-marker`)
	spec.User = img.User
	st, lines := run(t, ctrs[n-1], spec)
	if want := []string{"stdout: image container 3000 /home/vcap", "stdout: v1"}; st.Code != 0 || !slices.Equal(lines, want) {
		t.Errorf("process in the image: %+v %q, want %q", st, lines, want)
	}

	// A later create resolves the tag again but downloads nothing.
	createIn(t, b, containerd.ContainerSpec{ID: "docker-later", RootFS: uri})
	if got := proxy.downloads(reg, layers[0]); got != 1 {
		t.Errorf("base layer downloaded %d times after a later create, want 1", got)
	}

	// A moved tag is followed; only the new layer is downloaded.
	moved := imageLayers(t, "v2")
	reg.push(t, "diego/app", "v1", testImage{layers: moved, user: "app", env: []string{"IMAGE_ONLY=moved"}})
	c := createIn(t, b, containerd.ContainerSpec{ID: "docker-moved", RootFS: uri})
	if st, lines := run(t, c, sh(`echo $IMAGE_ONLY; cat /etc/image-marker`)); st.Code != 0 || !slices.Equal(lines, []string{"stdout: moved", "stdout: v2"}) {
		t.Errorf("after the tag moved: %+v %q", st, lines)
	}
	if got := proxy.downloads(reg, moved[1]); got != 1 {
		t.Errorf("new layer downloaded %d times, want 1", got)
	}

	// Preloaded stacks work unchanged beside images.
	pre := createIn(t, b, containerd.ContainerSpec{ID: "preloaded", RootFS: stack})
	if st, lines := run(t, pre, sh("test -e /etc/image-marker || echo stack")); st.Code != 0 || !slices.Equal(lines, []string{"stdout: stack"}) {
		t.Errorf("preloaded container: %+v %q", st, lines)
	}

	// Cleanup (a restart) keeps the image layers: no download or unpack
	// after it.
	ctx := testCtx(t)
	layersBefore := e.committedLayers(t)
	if err := b.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if after := e.committedLayers(t); len(layersBefore) != 4 || !slices.Equal(after, layersBefore) {
		t.Errorf("image layer snapshots: %q before Cleanup (want 4: two images of two layers), %q after", layersBefore, after)
	}
	c = createIn(t, b, containerd.ContainerSpec{ID: "after-cleanup", RootFS: uri})
	if st, lines := run(t, c, containerd.ProcessSpec{Path: "/bin/cat", Args: []string{"/etc/image-marker"}, User: "app"}); st.Code != 0 || !slices.Equal(lines, []string{"stdout: v2"}) {
		t.Errorf("after cleanup: %+v %q", st, lines)
	}
	if got := proxy.downloads(reg, moved[1]); got != 1 {
		t.Errorf("layer downloaded %d times after Cleanup, want 1", got)
	}

	// RemoveImages leaves no image, content or layer snapshot.
	if err := b.Delete(ctx, "after-cleanup"); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveImages(ctx); err != nil {
		t.Fatal(err)
	}
	e.assertNoImages(t)
}

// committedLayers returns the names of the committed snapshots that are not
// stack bases: the unpacked image layers.
func (e *env) committedLayers(t *testing.T) []string {
	t.Helper()
	ctx := namespaces.WithNamespace(testCtx(t), e.cfg.Namespace)
	var names []string
	err := e.b.Client().SnapshotService(e.cfg.Snapshotter).Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if _, base := info.Labels[containerd.LabelBase]; !base && info.Kind == snapshots.KindCommitted {
			names = append(names, info.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// assertNoImages checks that e's namespace holds no image, no content and
// no snapshot besides the committed bases.
func (e *env) assertNoImages(t *testing.T) {
	t.Helper()
	ctx := namespaces.WithNamespace(testCtx(t), e.cfg.Namespace)
	c := e.b.Client()
	if imgs, err := c.ImageService().List(ctx); err != nil || len(imgs) != 0 {
		t.Errorf("images left: %v, %v", imgs, err)
	}
	var blobs int
	if err := c.ContentStore().Walk(ctx, func(content.Info) error { blobs++; return nil }); err != nil || blobs != 0 {
		t.Errorf("content left: %d blobs, %v", blobs, err)
	}
	var snaps []string
	err := c.SnapshotService(e.cfg.Snapshotter).Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if _, base := info.Labels[containerd.LabelBase]; !base {
			snaps = append(snaps, info.Name)
		}
		return nil
	})
	if err != nil || len(snaps) != 0 {
		t.Errorf("snapshots left besides the bases: %q, %v", snaps, err)
	}
}

func TestDockerImageErrorsAreClear(t *testing.T) {
	e := newEnv(t)
	reg := startRegistry(t, registryOpts{})
	reg.push(t, "diego/app", "v1", testImage{layers: imageLayers(t, "v1")})
	closed := freeLoopbackAddr(t)
	b := e.backendWith(t, func(c *containerd.Config) { c.InsecureRegistries = []string{reg.Host, closed} })
	secure := e.b // no insecure registries

	cases := []struct {
		name  string
		b     *containerd.Backend
		spec  containerd.ContainerSpec
		kind  error
		words string
	}{
		{"missing tag", b, containerd.ContainerSpec{RootFS: "docker://" + reg.Host + "/diego/app#nope"}, containerd.ErrNotFound, "no such repository or tag"},
		{"missing repository", b, containerd.ContainerSpec{RootFS: "docker://" + reg.Host + "/diego/none"}, containerd.ErrNotFound, "no such repository or tag"},
		{"unreachable registry", b, containerd.ContainerSpec{RootFS: "docker://" + closed + "/diego/app#v1"}, containerd.ErrUnavailable, "unreachable"},
		{"plain HTTP registry not listed as insecure", secure, containerd.ContainerSpec{RootFS: "docker://" + reg.Host + "/diego/app#v1"}, containerd.ErrUnavailable, "insecure registries"},
		{"bad URL", b, containerd.ContainerSpec{RootFS: "docker://" + reg.Host + "/Diego/app"}, containerd.ErrInvalid, "must be lowercase"},
		{"username without password", b, containerd.ContainerSpec{RootFS: "docker://" + reg.Host + "/diego/app#v1", ImageUsername: "u"}, containerd.ErrInvalid, "username and password"},
	}
	for i, tc := range cases {
		tc.spec.ID = fmt.Sprintf("bad-%d", i)
		_, err := tc.b.Create(testCtx(t), tc.spec)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%s: err = %v, want %v mentioning %q", tc.name, err, tc.kind, tc.words)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	if ids, err := b.List(testCtx(t)); err != nil || len(ids) != 0 {
		t.Errorf("failed creates left containers: %q, %v", ids, err)
	}
}

func TestDockerImageWithCredentialsOverTLS(t *testing.T) {
	e := newEnv(t)
	reg := startRegistry(t, registryOpts{TLS: true, User: "diego", Pass: "s3cret"})
	reg.push(t, "private/app", "v1", testImage{layers: imageLayers(t, "private"), user: "app"})
	b := e.backendWith(t, func(c *containerd.Config) { c.InsecureRegistries = []string{reg.Host} })
	uri := "docker://" + reg.Host + "/private/app#v1"

	for i, tc := range []struct {
		name, user, pass string
		kind             error
		words            string
	}{
		{"wrong password", "diego", "wrong", containerd.ErrUnauthorized, "authorization failed"},
		{"no credentials", "", "", containerd.ErrUnauthorized, "authorization failed"},
	} {
		_, err := b.Create(testCtx(t), containerd.ContainerSpec{ID: fmt.Sprintf("denied-%d", i), RootFS: uri, ImageUsername: tc.user, ImagePassword: tc.pass})
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%s: err = %v, want %v mentioning %q", tc.name, err, tc.kind, tc.words)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	// Right credentials, but the self-signed registry is not trusted.
	_, err := e.b.Create(testCtx(t), containerd.ContainerSpec{ID: "untrusted", RootFS: uri, ImageUsername: "diego", ImagePassword: "s3cret"})
	if !errors.Is(err, containerd.ErrUnavailable) || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("untrusted certificate: err = %v, want ErrUnavailable mentioning insecure", err)
	}

	c := createIn(t, b, containerd.ContainerSpec{ID: "private", RootFS: uri, ImageUsername: "diego", ImagePassword: "s3cret"})
	if st, lines := run(t, c, containerd.ProcessSpec{Path: "/bin/cat", Args: []string{"/etc/image-marker"}, User: c.Image().User}); st.Code != 0 || !slices.Equal(lines, []string{"stdout: private"}) {
		t.Errorf("private image: %+v %q", st, lines)
	}
	// The image is unpacked now, but every create still checks the
	// credentials at the registry.
	if _, err := b.Create(testCtx(t), containerd.ContainerSpec{ID: "denied-later", RootFS: uri, ImageUsername: "diego", ImagePassword: "wrong"}); !errors.Is(err, containerd.ErrUnauthorized) {
		t.Errorf("wrong password after a pull: err = %v, want ErrUnauthorized", err)
	}
	// Removing the images leaves a container made from one working.
	if err := b.RemoveImages(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st, lines := run(t, c, containerd.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "id -u; cat /etc/image-marker"}, User: "app"}); st.Code != 0 || !slices.Equal(lines, []string{"stdout: 3000", "stdout: private"}) {
		t.Errorf("after RemoveImages: %+v %q", st, lines)
	}
	if err := b.Delete(testCtx(t), "private"); err != nil {
		t.Fatal(err)
	}
	e.collectGarbage(t) // its layers were kept for it until now
	e.assertNoImages(t)
}

// collectGarbage runs containerd's garbage collector now (deleting a lease
// synchronously does).
func (e *env) collectGarbage(t *testing.T) {
	t.Helper()
	ctx := namespaces.WithNamespace(testCtx(t), e.cfg.Namespace)
	ls := e.b.Client().LeasesService()
	l, err := ls.Create(ctx, leases.WithRandomID())
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.Delete(ctx, l, leases.SynchronousDelete); err != nil {
		t.Fatal(err)
	}
}
