package containerd

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteserrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	"github.com/sirupsen/logrus"
	"golang.org/x/sync/singleflight"
)

// DockerScheme is the URI scheme of rootfs images pulled from a registry.
const DockerScheme = "docker"

// LabelImage is set on the containerd images this package pulls; its value is
// the rootfs URI that asked for it first.
const LabelImage = "diego.executor/image"

// labelSnapshotRef is the label containerd's unpacker puts on the committed
// snapshots of image layers.
const labelSnapshotRef = "containerd.io/snapshot.ref"

// DefaultImagePullTimeout bounds one pull (the reference's downloads have 10
// minutes too).
const DefaultImagePullTimeout = 10 * time.Minute

// More errors of this package, matched with errors.Is.
var (
	// ErrUnauthorized means a registry refused the image credentials.
	ErrUnauthorized = errdefs.ErrUnauthenticated
	// ErrUnavailable means a registry could not be reached.
	ErrUnavailable = errdefs.ErrUnavailable
)

// ImageConfig is what a docker image's configuration gives its containers.
// It is empty for preloaded stacks.
type ImageConfig struct {
	// Ref is the pulled image, name@digest.
	Ref string
	// Env (NAME=value) is the image's environment; the container env
	// (ContainerSpec.Env) overrides it, as in Garden.
	Env []string
	// User is the image's user ("" = root), for the caller to run
	// processes as.
	User string
	// WorkingDir is the image's working directory.
	WorkingDir string
}

// Image returns the configuration of c's image (zero for a preloaded stack).
func (c *Container) Image() ImageConfig { return c.image }

// DockerImage is a parsed `docker://` rootfs URI.
type DockerImage struct {
	named reference.Named
}

// ParseDockerURI parses a docker rootfs URI the way Garden does:
// `docker:///<repo>[#<tag>]` names an image on Docker Hub,
// `docker://<registry[:port]>/<repo>[#<tag>]` one on another registry; the
// fragment is the tag (`latest` if absent) or a digest (`#sha256:...`). As
// with docker pull, a first component without a dot or a port is part of the
// repository on Docker Hub (`docker://cloudfoundry/lattice-app`). Credentials
// never go in the URI.
func ParseDockerURI(uri string) (DockerImage, error) {
	bad := func(why string) (DockerImage, error) {
		return DockerImage{}, fmt.Errorf("%w: docker rootfs %q: %s", ErrInvalid, uri, why)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return bad("not a URL")
	}
	switch {
	case u.Scheme != DockerScheme:
		return bad("scheme is not docker")
	case u.Opaque != "":
		return bad("want docker:///<repository>[#tag] or docker://<registry>/<repository>[#tag]")
	case u.User != nil:
		return bad("credentials belong in image_username and image_password, not in the URL")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("a query is not allowed")
	}
	name := strings.TrimPrefix(u.Host+u.Path, "/")
	if name == "" {
		return bad("no repository")
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return bad(err.Error())
	}
	if u.Fragment != "" {
		if !reference.IsNameOnly(named) {
			return bad("both the path and the fragment give a tag")
		}
		if strings.Contains(u.Fragment, ":") {
			d, err := digest.Parse(u.Fragment)
			if err != nil {
				return bad("bad digest " + u.Fragment + ": " + err.Error())
			}
			named, err = reference.WithDigest(named, d)
			if err != nil {
				return bad(err.Error())
			}
		} else if named, err = reference.WithTag(named, u.Fragment); err != nil {
			return bad("bad tag " + u.Fragment + ": " + err.Error())
		}
	}
	return DockerImage{named: reference.TagNameOnly(named)}, nil
}

// Ref is the image reference containerd resolves (docker.io/library/busybox:latest).
func (i DockerImage) Ref() string { return i.named.String() }

// Registry is the registry host[:port] (docker.io for Docker Hub).
func (i DockerImage) Registry() string { return reference.Domain(i.named) }

// quietLog discards the logs of containerd's client.
var quietLog = func() *log.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}()

// registryCreds are the image_username and image_password of a container.
type registryCreds struct{ user, password string }

// imageStore caches pulled images for a Backend: one pull per image ref and
// credentials at a time, one unpack per manifest digest.
type imageStore struct {
	pulls singleflight.Group

	mu     sync.Mutex
	pulled map[digest.Digest]*pulledImage

	rtOnce               sync.Once
	secureRT, insecureRT http.RoundTripper
}

// pulledImage is an image unpacked into the snapshotter.
type pulledImage struct {
	chainID string // the committed snapshot of its top layer
	userDir string // holds a copy of its etc/passwd
	config  ImageConfig
}

// rootfsSource is what a container's writable layer sits on.
type rootfsSource struct {
	parent  string // committed snapshot
	userDir string // directory whose etc/passwd resolves process users
	image   ImageConfig
}

// resolveRootFS returns the snapshot a container of spec starts from:
// a preloaded stack's base, or a docker image, pulled if needed.
func (b *Backend) resolveRootFS(ctx context.Context, spec ContainerSpec) (rootfsSource, error) {
	if scheme, _, _ := strings.Cut(spec.RootFS, ":"); scheme == DockerScheme {
		img, err := b.dockerImage(ctx, spec)
		if err != nil {
			return rootfsSource{}, err
		}
		return rootfsSource{parent: img.chainID, userDir: img.userDir, image: img.config}, nil
	}
	path, err := b.cfg.Stacks.Resolve(spec.RootFS)
	if err != nil {
		return rootfsSource{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	dir, err := b.stackDir(path)
	if err != nil {
		return rootfsSource{}, err
	}
	base, err := b.baseSnapshot(ctx, dir)
	if err != nil {
		return rootfsSource{}, err
	}
	return rootfsSource{parent: base, userDir: dir}, nil
}

// dockerImage returns the unpacked image of spec.RootFS. Every create
// resolves the tag at the registry with the container's credentials (so a
// moved tag is followed and bad credentials fail, as with Garden); layers are
// fetched and unpacked only for a digest not unpacked yet. Concurrent
// creates of the same image share one resolve and pull.
func (b *Backend) dockerImage(ctx context.Context, spec ContainerSpec) (*pulledImage, error) {
	img, err := ParseDockerURI(spec.RootFS)
	if err != nil {
		return nil, err
	}
	if (spec.ImageUsername == "") != (spec.ImagePassword == "") {
		return nil, fmt.Errorf("%w: image username and password go together", ErrInvalid)
	}
	creds := registryCreds{spec.ImageUsername, spec.ImagePassword}
	sum := sha256.Sum256([]byte(creds.password))
	key := img.Ref() + "\x00" + creds.user + "\x00" + hex.EncodeToString(sum[:])
	ch := b.imgs.pulls.DoChan(key, func() (any, error) {
		// Shared by every waiting create: no single caller's cancel ends it.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.ImagePullTimeout)
		defer cancel()
		return b.pull(pctx, spec.RootFS, img, creds)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*pulledImage), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Backend) pull(ctx context.Context, uri string, img DockerImage, creds registryCreds) (*pulledImage, error) {
	logger := b.logger.Session("pull", lager.Data{"image": img.Ref()})
	// containerd's client logs through logrus to stderr; its failures come
	// back as errors, logged here.
	ctx = log.WithLogger(ctx, quietLog)
	resolver := b.resolver(img.Registry(), creds)
	name, desc, err := resolver.Resolve(ctx, img.Ref())
	if err != nil {
		return nil, b.pullError(uri, img, creds, err)
	}
	if p := b.cachedImage(ctx, desc.Digest); p != nil {
		return p, nil
	}
	start := time.Now()
	pinned := name
	if _, hasDigest := img.named.(reference.Digested); !hasDigest {
		pinned = name + "@" + desc.Digest.String()
	}
	ci, err := b.client.Pull(ctx, pinned,
		client.WithResolver(resolver),
		client.WithPullUnpack,
		client.WithPullSnapshotter(b.cfg.Snapshotter),
		client.WithPullLabels(map[string]string{LabelOwner: b.cfg.Owner, LabelImage: uri}),
	)
	if err != nil {
		return nil, b.pullError(uri, img, creds, err)
	}
	diffIDs, err := ci.RootFS(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the layers of %s: %w", uri, err)
	}
	cfg, err := ci.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the configuration of %s: %w", uri, err)
	}
	p := &pulledImage{
		chainID: identity.ChainID(diffIDs).String(),
		config: ImageConfig{
			Ref:        ci.Name(),
			Env:        cfg.Config.Env,
			User:       cfg.Config.User,
			WorkingDir: cfg.Config.WorkingDir,
		},
	}
	if p.userDir, err = b.imageUserDir(ctx, p.chainID, desc.Digest); err != nil {
		return nil, err
	}
	b.imgs.mu.Lock()
	if b.imgs.pulled == nil {
		b.imgs.pulled = map[digest.Digest]*pulledImage{}
	}
	b.imgs.pulled[desc.Digest] = p
	b.imgs.mu.Unlock()
	logger.Info("pulled", lager.Data{"digest": desc.Digest, "layers": len(diffIDs), "duration": time.Since(start).String()})
	return p, nil
}

// cachedImage returns the image of manifest d if it is still unpacked.
func (b *Backend) cachedImage(ctx context.Context, d digest.Digest) *pulledImage {
	b.imgs.mu.Lock()
	p := b.imgs.pulled[d]
	b.imgs.mu.Unlock()
	if p == nil {
		return nil
	}
	if _, err := b.client.SnapshotService(b.cfg.Snapshotter).Stat(ctx, p.chainID); err != nil {
		return nil
	}
	if _, err := os.Stat(p.userDir); err != nil {
		return nil
	}
	return p
}

// imageUserDir copies the image's /etc/passwd (the users of its processes)
// into <state>/images/<manifest digest>/etc/passwd and returns that
// directory.
func (b *Backend) imageUserDir(ctx context.Context, chainID string, manifest digest.Digest) (_ string, err error) {
	dir := filepath.Join(b.cfg.StateDir, "images", manifest.Encoded())
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	ctx, done, err := b.client.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(10*time.Minute))
	if err != nil {
		return "", err
	}
	defer func() { _ = done(context.WithoutCancel(ctx)) }()
	sn := b.client.SnapshotService(b.cfg.Snapshotter)
	key := fmt.Sprintf("diego/view/%s-%d", manifest.Encoded(), time.Now().UnixNano())
	mounts, err := sn.View(ctx, key, chainID)
	if err != nil {
		return "", fmt.Errorf("viewing image snapshot %s: %w", chainID, err)
	}
	defer func() { _ = sn.Remove(context.WithoutCancel(ctx), key) }()
	target, err := os.MkdirTemp(b.cfg.StateDir, "view-")
	if err != nil {
		return "", err
	}
	defer os.Remove(target)
	if err := mount.All(mounts, target); err != nil {
		return "", fmt.Errorf("mounting image snapshot: %w", err)
	}
	passwd, readErr := readInRoot(target, "/etc/passwd")
	if err := mount.UnmountAll(target, 0); err != nil {
		return "", fmt.Errorf("unmounting image snapshot: %w", err)
	}
	if readErr != nil && !errors.Is(readErr, os.ErrNotExist) {
		return "", fmt.Errorf("reading /etc/passwd of the image: %w", readErr)
	}
	// Written aside and renamed: concurrent pulls of one digest (other
	// credentials) may race here.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "tmp-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), "tmp-"); err != nil {
			return "", err
		}
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "etc"), 0o755); err != nil {
		return "", err
	}
	if readErr == nil {
		if err := os.WriteFile(filepath.Join(tmp, "etc", "passwd"), passwd, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return dir, nil // the other one won
		}
		return "", err
	}
	return dir, nil
}

// readInRoot reads path inside root, following symlinks without leaving it.
func readInRoot(root, path string) ([]byte, error) {
	p, err := fs.RootPath(root, path)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// RemoveImages deletes the images this backend pulled (owner label), and
// with them (containerd's garbage collector, synchronously) their content
// and the layer snapshots no container still sits on. Containers made from
// them keep running and keep resolving their users.
func (b *Backend) RemoveImages(ctx context.Context) error {
	ctx = b.nsCtx(ctx)
	is := b.client.ImageService()
	imgs, err := is.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	var mine []string
	for _, img := range imgs {
		if img.Labels[LabelOwner] == b.cfg.Owner {
			mine = append(mine, img.Name)
		}
	}
	for i, name := range mine {
		var opts []images.DeleteOpt
		if i == len(mine)-1 {
			opts = append(opts, images.SynchronousDelete())
		}
		if err := is.Delete(ctx, name, opts...); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	b.imgs.mu.Lock()
	b.imgs.pulled = nil
	b.imgs.mu.Unlock()

	inUse := map[string]bool{}
	b.mu.Lock()
	for _, c := range b.containers {
		inUse[c.rootfsDir] = true
	}
	b.mu.Unlock()
	dir := filepath.Join(b.cfg.StateDir, "images")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if p := filepath.Join(dir, e.Name()); !inUse[p] {
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	_ = os.Remove(dir) // if empty
	return errors.Join(errs...)
}

// resolver returns a resolver for pulls from registry with creds: HTTPS,
// and for the insecure registries of the configuration HTTPS without
// certificate checks, falling back to plain HTTP.
func (b *Backend) resolver(registry string, creds registryCreds) remotes.Resolver {
	b.imgs.rtOnce.Do(func() {
		b.imgs.secureRT = docker.DefaultHTTPTransport(nil)
		b.imgs.insecureRT = docker.NewHTTPFallback(docker.DefaultHTTPTransport(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec // the operator's insecure registries
	})
	rt := b.imgs.secureRT
	if b.insecureRegistry(registry) {
		rt = b.imgs.insecureRT
	}
	httpClient := &http.Client{Transport: rt}
	authorizer := docker.NewDockerAuthorizer(
		docker.WithAuthClient(httpClient),
		docker.WithAuthCreds(func(string) (string, string, error) { return creds.user, creds.password, nil }),
	)
	hosts := func(host string) ([]docker.RegistryHost, error) {
		h := docker.RegistryHost{
			Client:       httpClient,
			Authorizer:   authorizer,
			Host:         host,
			Scheme:       "https",
			Path:         "/v2",
			Capabilities: docker.HostCapabilityPull | docker.HostCapabilityResolve,
		}
		if host == "docker.io" {
			h.Host = "registry-1.docker.io"
		}
		return []docker.RegistryHost{h}, nil
	}
	return docker.NewResolver(docker.ResolverOptions{Hosts: hosts})
}

func (b *Backend) insecureRegistry(registry string) bool {
	for _, r := range b.cfg.InsecureRegistries {
		if strings.EqualFold(r, registry) {
			return true
		}
	}
	return false
}

// pullError turns the resolver's and the puller's errors into this
// package's: not found, unauthorized, unavailable.
func (b *Backend) pullError(uri string, img DockerImage, creds registryCreds, err error) error {
	var status remoteserrors.ErrUnexpectedStatus
	var unknownCA x509.UnknownAuthorityError
	var certInvalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: pulling %s: timed out after %v", ErrUnavailable, uri, b.cfg.ImagePullTimeout)
	case errdefs.IsNotFound(err):
		return fmt.Errorf("%w: image %s: no such repository or tag in registry %s", ErrNotFound, uri, img.Registry())
	case errors.Is(err, docker.ErrInvalidAuthorization),
		errors.As(err, &status) && (status.StatusCode == http.StatusUnauthorized || status.StatusCode == http.StatusForbidden):
		if creds.user == "" {
			return fmt.Errorf("%w: pulling %s: authorization failed: the registry wants a username and password (%v)", ErrUnauthorized, uri, err)
		}
		return fmt.Errorf("%w: pulling %s: authorization failed: username and password are invalid (%v)", ErrUnauthorized, uri, err)
	case errors.As(err, &unknownCA), errors.As(err, &certInvalid), errors.As(err, &hostname),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w: pulling %s: registry %s is insecure (%v): to pull from it, list it in the insecure registries", ErrUnavailable, uri, img.Registry(), err)
	case errors.As(err, &netErr):
		return fmt.Errorf("%w: pulling %s: registry %s unreachable: %v", ErrUnavailable, uri, img.Registry(), err)
	}
	return fmt.Errorf("pulling %s: %w", uri, err)
}
