package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

// registry pushes images to an OCI registry with go-containerregistry: blobs
// the registry has are not sent again, the manifest goes up with the version
// tag once every blob is there, and floating tags follow.
type registry struct {
	cfg  config.StoreConfig
	repo name.Repository
	opts []remote.Option
	// auth says where the credentials come from, for errors.
	auth string
	log  func(format string, args ...any)
}

func newRegistry(s config.StoreConfig, e Env) (Store, error) {
	var opts []name.Option
	if s.InsecureSkipVerify {
		opts = append(opts, name.Insecure) // also lets go-containerregistry fall back to plain HTTP
	}
	repo, err := name.NewRepository(s.Repository, opts...)
	if err != nil {
		return nil, fmt.Errorf("store %s: repository %q: %w", s.Name, s.Repository, err)
	}
	client, err := e.client(s, repo.RegistryStr())
	if err != nil {
		return nil, err
	}
	r := &registry{cfg: s, repo: repo, log: e.Log}
	r.opts = []remote.Option{remote.WithTransport(client.Transport), remote.WithRetryBackoff(remote.Backoff{Steps: 1})}
	user := s.Username
	if s.UsernameEnv != "" {
		if user, err = e.secret("username_env", s.UsernameEnv); err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
	}
	pass, err := e.secret("password_env", s.PasswordEnv)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.Name, err)
	}
	if user != "" || pass != "" {
		r.opts = append(r.opts, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
		r.auth = fmt.Sprintf("user %q and the password in $%s", user, s.PasswordEnv)
	} else {
		r.opts = append(r.opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		r.auth = "docker's config.json (docker login), or username and password_env"
	}
	return r, nil
}

func (r *registry) with(ctx context.Context) []remote.Option {
	return append(r.opts, remote.WithContext(ctx))
}

// tags lists the repository's tags; none when it does not exist yet. An
// answer that is cut short or is no tag list is asked again like a 503 (the
// HTTP client retries those): floating tags are decided from this list.
func (r *registry) tags(ctx context.Context) ([]string, error) {
	for attempt := 0; ; attempt++ {
		tags, err := remote.List(r.repo, r.with(ctx)...)
		var te *transport.Error
		switch {
		case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
			return nil, nil
		case err == nil:
			return tags, nil
		case te == nil && ctx.Err() == nil && attempt < r.cfg.Retries:
			if r.log != nil {
				r.log("list the tags of %s: the answer is no tag list (%v); asking again (attempt %d of %d)", r.repo, err, attempt+2, r.cfg.Retries+1)
			}
			select {
			case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
			continue
		}
		return nil, fmt.Errorf("list the tags of %s: %w (no tag was written: the floating tags are decided from this list; publish again when the registry answers)", r.repo, r.explain(err))
	}
}

// Existing lists the tags that are versions, with their digests.
func (r *registry) Existing(ctx context.Context, pkg string) ([]Release, error) {
	tags, err := r.tags(ctx)
	if err != nil {
		return nil, err
	}
	var out []Release
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var firstErr error
	for _, t := range tags {
		if _, err := version.ParseOCITag(t); err != nil {
			continue // latest, 1.2, develop, …
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(tag string) {
			defer wg.Done()
			defer func() { <-sem }()
			d, err := remote.Head(r.repo.Tag(tag), r.with(ctx)...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out = append(out, Release{Name: pkg, Version: tag, Digest: d.Digest.String(), SHA256: d.Digest.Hex})
		}(t)
	}
	wg.Wait()
	return out, firstErr
}

func (r *registry) Publish(ctx context.Context, it Item) (state.Publication, error) {
	img, err := sourceImage(it)
	if err != nil {
		return state.Publication{}, err
	}
	tag := r.repo.Tag(it.Version.OCITag)
	pub := state.Publication{Store: r.cfg.Name, Type: "registry", Artifact: it.Artifact.Path, Reference: tag.String(), Digest: it.Artifact.Digest,
		Install: fmt.Sprintf("docker pull %s@%s", r.repo, it.Artifact.Digest)}
	d, err := remote.Head(tag, r.with(ctx)...)
	var te *transport.Error
	switch {
	case err == nil && d.Digest.String() == it.Artifact.Digest:
		pub.Unchanged = true
	case err == nil && !it.Overwrite:
		return state.Publication{}, conflict(r.cfg.Name, tag.String(), d.Digest.String(), it.Artifact.Digest)
	case err != nil && !(errors.As(err, &te) && te.StatusCode == http.StatusNotFound):
		return state.Publication{}, fmt.Errorf("ask %s for %s: %w", r.repo.RegistryStr(), tag, r.explain(err))
	}
	// The tag list first: a run that cannot read it writes no tag at all.
	existing, err := r.tags(ctx)
	if err != nil {
		return state.Publication{}, err
	}
	if it.DryRun {
		pub.Tags = Tags(r.cfg.Tags, it.Version, existing)
		return pub, nil
	}
	if !pub.Unchanged {
		if err := remote.Write(tag, img, r.with(ctx)...); err != nil {
			return state.Publication{}, fmt.Errorf("push %s: %w", tag, r.explain(err))
		}
	}
	pub.Tags = []string{it.Version.OCITag}
	for _, t := range Tags(r.cfg.Tags, it.Version, existing) {
		if t == it.Version.OCITag {
			continue
		}
		if err := remote.Tag(r.repo.Tag(t), img, r.with(ctx)...); err != nil {
			return state.Publication{}, fmt.Errorf("tag %s: %w", t, r.explain(err))
		}
		pub.Tags = append(pub.Tags, t)
	}
	return pub, nil
}

// explain adds what to check to an authentication failure.
func (r *registry) explain(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%w; the registry refused the credentials: check %s", err, r.auth)
	}
	return err
}
