package publishstep

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps"
	"github.com/gopythongo/gopythongo/internal/store"
	"github.com/gopythongo/gopythongo/internal/storeask"
	"github.com/gopythongo/gopythongo/internal/storetype"
	"github.com/gopythongo/gopythongo/internal/version"
)

const publishHelp = `
Publishes the artifacts that gopythongo-package (and gopythongo-build-venv
--dist-only) recorded in the state file to the stores of publish.stores:
  apt-dir    a Debian repository in a directory (pool/, dists/, Packages, Release
             with MD5Sum/SHA1/SHA256, by-hash), signed in Go when a key is set
  aptly      aptly's REST API: upload, add, publish or update (signed or not)
  registry   an OCI registry, with go-containerregistry: only missing blobs are
             sent; the version tag, then floating tags (latest, X.Y, X for
             releases; the channel, e.g. develop, otherwise)
  oci-dir    an OCI image layout directory holding every published tag
  pypi       the legacy upload API of PyPI, devpi, Artifactory, Nexus, Gitea
  pypi-dir   a static PEP 503/691 index in a directory (pip --index-url file://…)

Each store is asked first what it holds: the identical artifact is success with
nothing written, so a rerun of a CI job is harmless; a different artifact under
an existing version fails, naming both hashes, unless --overwrite. (--force,
as in every step, only accepts a state file made for another commit.) Requests time out, and connection
errors, 429 and 5xx are retried with backoff and jitter (publish.stores[].timeout,
.retries). Secrets come only from the variables the
configuration names (password_env, signing_key_env, passphrase_env) and are
masked on GitHub. Every publication is recorded in the state file and in the
outputs, with the command to install it.

--dry-run asks every store the same questions and prints what it holds of the
package and, per artifact, what would be uploaded (and where: the pool and index of
an apt repository, the tags of an image) or is already there; it writes nothing.
--check checks the configuration, the credentials and signing keys, and that each
store answers, before there are artifacts.

Exit codes: 0 published (or already there), 1 a store refused or failed (or,
with --dry-run, would), 2 bad configuration or no artifacts.

Examples:
  gopythongo-publish                              every store of publish.stores
  gopythongo-publish --store apt --store registry
  REGISTRY_TOKEN=… gopythongo-publish --store registry   (password_env: REGISTRY_TOKEN)
  gopythongo-publish --store pypi --overwrite     replace a different artifact
  gopythongo-publish --dry-run                    what would go where; nothing written
  gopythongo-publish --check                      credentials and stores, before building
`

// Publish is the gopythongo-publish command: it puts the artifacts of the
// state file into the configured stores and records where they went, signing
// apt repositories with the keys newSigner reads (pgp.NewSigner, given by the
// binary: the other steps do not link OpenPGP).
func Publish(newSigner func(armored, passphrase []byte) (store.Signer, error)) cli.Step {
	var stores cli.Strings
	var overwrite, dryRun bool
	return cli.Step{
		Name:    "gopythongo-publish",
		Summary: "publish the artifacts to apt repositories, registries and package indexes",
		Help:    publishHelp,
		Flags: func(fs *flag.FlagSet) {
			fs.Var(&stores, "store", "publish to this store of publish.stores only (repeatable; default: all)")
			fs.BoolVar(&dryRun, "dry-run", false, "print, per store, what it holds of the package and what would be uploaded, tagged and indexed; write nothing (exit 1 when a store would refuse)")
			fs.BoolVar(&overwrite, "overwrite", false, "replace a different artifact the store holds under the same version (versions are meant to be immutable: prefer a new revision)")
		},
		Section: "publish",
		Checks:  steps.ConfigChecks(),
		Outputs: []cli.Output{
			{Name: "publications", Doc: "every publication as JSON: store, type, artifact, reference, digest, tags, install"},
			{Name: "<store>_reference", Doc: "where the artifact went (with _<format> where a store took several)"},
			{Name: "<store>_digest", Doc: "its sha256 or image digest"},
			{Name: "<store>_tags", Doc: "the tags set, for registry and oci-dir"},
		},
		Check: func(ctx context.Context, s *cli.Session) []check.Finding {
			return publishCheck(ctx, s, stores, newSigner)
		},
		Run: func(ctx context.Context, s *cli.Session) error {
			return publishRun(ctx, s, stores, publishOptions{overwrite: overwrite, dryRun: dryRun}, newSigner)
		},
	}
}

// selectStores picks the configured stores to publish to.
func selectStores(c *config.Config, names []string) ([]config.StoreConfig, error) {
	if len(c.Publish.Stores) == 0 {
		return nil, c.Errorf("publish.stores", "no stores are configured: add one, e.g. {name: apt, type: apt-dir, path: dist/repo}")
	}
	if len(names) == 0 {
		return c.Publish.Stores, nil
	}
	var out []config.StoreConfig
	for _, n := range names {
		sc, ok := c.Store(n)
		if !ok {
			var have []string
			for _, s := range c.Publish.Stores {
				have = append(have, s.Name)
			}
			return nil, config.Usagef("--store %s: no store of that name (configured: %s)", n, strings.Join(have, ", "))
		}
		out = append(out, sc)
	}
	return out, nil
}

// publishCheck checks each selected store (credentials, signing key, an
// answer to what it holds) and that it takes an artifact of the state file.
func publishCheck(ctx context.Context, s *cli.Session, names []string, newSigner func(armored, passphrase []byte) (store.Signer, error)) []check.Finding {
	scs, err := selectStores(s.Config, names)
	if err != nil {
		return []check.Finding{check.Bad("publish.stores", err)}
	}
	f, st := steps.StateFinding(s, func(st *state.State) string {
		if st.Version == nil || len(st.Artifacts) == 0 {
			return "it records no artifacts yet: gopythongo-package makes them"
		}
		return ""
	})
	fs := []check.Finding{f}
	for _, sc := range scs {
		env := storeEnv(s)
		env.NewSigner = newSigner
		fs = append(fs, store.Check(ctx, sc, env, s.Config.Project.Name)...)
		if st != nil && len(st.Artifacts) > 0 && !slices.ContainsFunc(st.Artifacts, func(a state.Artifact) bool { return storetype.Accepts(sc.Type, a.Format) }) {
			fs = append(fs, check.Badf("store "+sc.Name, "%s takes none of the artifacts in the state file (%s): %s", sc.Type, formats(st.Artifacts), storetype.Hint(sc.Type)))
		}
	}
	return fs
}

type publishOptions struct{ overwrite, dryRun bool }

func publishRun(ctx context.Context, s *cli.Session, names []string, o publishOptions, newSigner func(armored, passphrase []byte) (store.Signer, error)) error {
	c := s.Config
	scs, err := selectStores(c, names)
	if err != nil {
		return err
	}
	st, err := s.LoadState()
	if err != nil {
		return err
	}
	if st.Version == nil || len(st.Artifacts) == 0 {
		return config.Usagef("the state file records no artifacts: run gopythongo-package (or gopythongo-build-venv --dist-only) first")
	}
	if v, err := version.ParseSemVer(st.Version.SemVer); err == nil && slices.Contains(v.Build, "dirty") {
		return config.Usagef("version %s was built from a dirty work tree and sorts above the clean build of its commit: it is not published; commit the changes and build again", st.Version.SemVer)
	}
	// Make every store first: a configuration error stops the run before
	// anything is published.
	stores := make([]store.Store, len(scs))
	for i, sc := range scs {
		env := storeEnv(s)
		env.NewSigner = newSigner
		if stores[i], err = store.New(sc, env); err != nil {
			return config.Usage(err)
		}
		if !slices.ContainsFunc(st.Artifacts, func(a state.Artifact) bool { return storetype.Accepts(sc.Type, a.Format) }) {
			return config.Usagef("store %s (%s) takes none of the artifacts in the state file (%s): %s", sc.Name, sc.Type, formats(st.Artifacts), storetype.Hint(sc.Type))
		}
	}
	if o.dryRun {
		return dryRun(ctx, s, st, stores, scs, o.overwrite)
	}
	var failed []error
	for i, sc := range scs {
		failed = append(failed, publishTo(ctx, s, st, stores[i], sc, o.overwrite)...)
	}
	// What was published is recorded even when another store failed.
	js, _ := json.Marshal(st.Publications)
	s.Reporter.Output("publications", string(js))
	if err := s.Finish(cli.Outcome{State: st, Outputs: publishOutputs(st), Summary: publishSummary(st)}); err != nil {
		return err
	}
	return errors.Join(failed...)
}

// publishTo publishes every artifact the store takes, in a phase of its own,
// and records each publication; it returns what failed.
func publishTo(ctx context.Context, s *cli.Session, st *state.State, to store.Store, sc config.StoreConfig, overwrite bool) []error {
	ph := s.Log.Phase("publish " + sc.Name)
	defer ph.End()
	var failed []error
	var results []string
	for _, a := range st.Artifacts {
		if !storetype.Accepts(sc.Type, a.Format) {
			continue
		}
		it := store.Item{Artifact: a, Dist: s.Config.DistDir(), Name: s.Config.Project.Name, Version: *st.Version, Commit: st.Commit.SHA, Overwrite: overwrite}
		pub, err := to.Publish(ctx, it)
		if err != nil {
			failed = append(failed, fmt.Errorf("publish %s to %s: %w", a.Path, sc.Name, err))
			results = append(results, a.Path+" FAILED")
			continue
		}
		st.Record(pub)
		what := "published"
		if pub.Unchanged {
			what = "already there"
		}
		results = append(results, fmt.Sprintf("%s %s", a.Path, what))
	}
	ph.Done(fmt.Sprintf("%s: %s", sc.Type, strings.Join(results, "; ")))
	return failed
}

// dryRun prints, per store, what it holds of the package and what publish
// would do with each artifact it takes; it writes nothing (no state, no
// outputs) and fails when a store would refuse an artifact.
func dryRun(ctx context.Context, s *cli.Session, st *state.State, stores []store.Store, scs []config.StoreConfig, overwrite bool) error {
	var failed []error
	w := s.Stdout
	for i, sc := range scs {
		ph := s.Log.Phase("dry run " + sc.Name)
		have, err := stores[i].Existing(ctx, s.Config.Project.Name)
		if err != nil {
			ph.End()
			failed = append(failed, fmt.Errorf("ask %s what it holds: %w", sc.Name, err))
			fmt.Fprintf(w, "store %s (%s): cannot say what it holds: %v\n", sc.Name, sc.Type, err)
			continue
		}
		fmt.Fprintf(w, "store %s (%s) holds %s\n", sc.Name, sc.Type, storetype.Holdings(have))
		n := 0
		for _, a := range st.Artifacts {
			if !storetype.Accepts(sc.Type, a.Format) {
				continue
			}
			it := store.Item{Artifact: a, Dist: s.Config.DistDir(), Name: s.Config.Project.Name, Version: *st.Version, Commit: st.Commit.SHA, Overwrite: overwrite, DryRun: true}
			pub, err := stores[i].Publish(ctx, it)
			switch {
			case err != nil:
				failed = append(failed, fmt.Errorf("publish %s to %s: %w", a.Path, sc.Name, err))
				fmt.Fprintf(w, "  would fail  %s: %v\n", a.Path, err)
				continue
			case pub.Unchanged:
				fmt.Fprintf(w, "  already there  %s as %s", a.Path, pub.Reference)
			default:
				n++
				fmt.Fprintf(w, "  would upload  %s to %s", a.Path, pub.Reference)
			}
			if len(pub.Tags) > 0 {
				fmt.Fprintf(w, ", tags %s", strings.Join(pub.Tags, ", "))
			}
			fmt.Fprintln(w)
		}
		ph.Done(fmt.Sprintf("%d to upload, nothing written", n))
	}
	return errors.Join(failed...)
}

func formats(arts []state.Artifact) string {
	var fs []string
	for _, a := range arts {
		if !slices.Contains(fs, string(a.Format)) {
			fs = append(fs, string(a.Format))
		}
	}
	return strings.Join(fs, ", ")
}

// publishOutputs are one value per fact of each publication:
// <store>_reference, _digest and _tags, with the artifact's format (and
// architecture) in the key where a store got several. The CI gets all of them
// as JSON too (publications).
func publishOutputs(st *state.State) []cli.Value {
	keys := outputKeys(st)
	var outs []cli.Value
	for i, p := range st.Publications {
		outs = append(outs, cli.Value{Name: keys[i] + "_reference", Value: p.Reference})
		if p.Digest != "" {
			outs = append(outs, cli.Value{Name: keys[i] + "_digest", Value: p.Digest})
		}
		if len(p.Tags) > 0 {
			outs = append(outs, cli.Value{Name: keys[i] + "_tags", Value: strings.Join(p.Tags, ",")})
		}
	}
	return outs
}

// outputKeys names each publication's outputs: by its store, with the
// format, and then the architecture, added only where a store holds several.
func outputKeys(st *state.State) []string {
	artifact := map[string]state.Artifact{}
	for _, a := range st.Artifacts {
		artifact[a.Path] = a
	}
	names := func(level int, p state.Publication) string {
		a := artifact[p.Artifact]
		return []string{p.Store, p.Store + "_" + string(a.Format), p.Store + "_" + string(a.Format) + "_" + a.Arch}[level]
	}
	keys := make([]string, len(st.Publications))
	for i, p := range st.Publications {
		for level := 0; level < 3; level++ {
			keys[i] = names(level, p)
			clash := false
			for j, q := range st.Publications {
				clash = clash || j != i && q.Store == p.Store && names(level, q) == keys[i]
			}
			if !clash {
				break
			}
		}
		keys[i] = strings.NewReplacer("-", "_", ".", "_").Replace(keys[i])
	}
	return keys
}

// publishSummary is the Markdown of the job summary: what went where, and the
// commands to use it.
func publishSummary(st *state.State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Published %s\n\n| store | artifact | reference | tags | status |\n| --- | --- | --- | --- | --- |\n", st.Version.SemVer)
	var next []string
	for _, p := range st.Publications {
		status := "published"
		if p.Unchanged {
			status = "already there"
		}
		fmt.Fprintf(&b, "| %s (%s) | `%s` | `%s` | %s | %s |\n", p.Store, p.Type, p.Artifact, p.Reference, strings.Join(p.Tags, ", "), status)
		if p.Install != "" && !slices.Contains(next, p.Install) {
			next = append(next, p.Install)
		}
	}
	if len(next) > 0 {
		b.WriteString("\nNext:\n\n```sh\n" + strings.Join(next, "\n") + "\n```\n")
	}
	return b.String()
}

// storeEnv is what stores need from the session: the configuration, the
// step's environment for secrets (masked in the CI log), and the log for
// retries.
func storeEnv(s *cli.Session) store.Env {
	return store.Env{Config: s.Config, Getenv: s.Getenv, Log: s.Log.Printf, Mask: s.Reporter.Mask}
}

// AnswerStore answers gopythongo-version's question of what a store holds
// (storeask): the request read from in, the answer written to out, the
// store's retries and errors on stderr, masks as the CI wants them. It
// returns the exit code.
func AnswerStore(in io.Reader, out *os.File, stdout, stderr io.Writer, lookup ci.Lookup) int {
	// Descriptor 3 is the asker's pipe. Without one it is whatever the
	// runtime opened first (the cgroup file of the default GOMAXPROCS):
	// neither written nor closed then.
	if fi, err := out.Stat(); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		fmt.Fprintf(stderr, "gopythongo-publish --%s answers gopythongo-version through a pipe on descriptor 3, and there is none: gopythongo-version runs it for version.revision_from, a person does not\n", storeask.Flag)
		return cli.ExitUsage
	}
	defer out.Close()
	syscall.CloseOnExec(int(out.Fd())) // nothing the store starts holds the answer open
	getenv := func(k string) string { v, _ := lookup(k); return v }
	rep := ci.NewReporter(ci.Detect(lookup, os.ReadFile).Provider, lookup, "", stderr, stdout)
	env := store.Env{Getenv: getenv, Mask: rep.Mask, Log: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }}
	if err := storeask.Serve(context.Background(), in, out, cli.Build(), env.Existing); err != nil {
		fmt.Fprintf(stderr, "gopythongo-publish --%s: %v\n", storeask.Flag, err)
		return cli.ExitFailure
	}
	return cli.ExitOK
}
