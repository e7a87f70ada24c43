package venv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/fsroot"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/treesums"
	"github.com/gopythongo/gopythongo/internal/ui"
)

// RootDir is the staging tree's directory inside dist: dist/root/opt/hello.
const RootDir = "root"

// Options is the input of a build.
type Options struct {
	Config *config.Config
	// Epoch is SOURCE_DATE_EPOCH: every time stamp of the tree.
	Epoch  time.Time
	Getenv func(string) string
	Log    *ui.Log
	// Output receives pip's output (only when a command fails, unless Verbose).
	Output  io.Writer
	Verbose bool
	// NoCache ignores the records of the wheel cache (wheels are still stored).
	NoCache bool
	// Version is the PEP 440 version being built (from the state file); the
	// project is built with it unless venv.set_version is false.
	Version string
}

// Result is what a build made.
type Result struct {
	Root    string // dist/root
	Venv    state.Venv
	Wheels  []WheelFile
	Secrets []string
	// Cached says which steps the caches spared: TreeCached means the whole
	// tree came from the tree cache (nothing installed, compiled or checked).
	ProjectCached, ResolutionCached, TreeCached bool
	// FromBase says the tree was made from the cached tree of the same
	// dependencies: only the project's wheel was installed and compiled.
	FromBase bool
	Stripped int
	// Dists are the project's wheel and sdist in dist/python (venv.dists).
	Dists []state.Artifact
}

// Build builds the venv into a temporary directory in dist and, only when all
// went well, moves it to dist/root.
func Build(ctx context.Context, o Options) (*Result, error) {
	c := o.Config
	deploy := c.Project.DeployPath
	if deploy == "" {
		return nil, c.Errorf("project.deploy_path", "the deploy path is not set: set project.deploy_path (e.g. /opt/hello) or project.name")
	}
	dist := c.DistDir()
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return nil, fmt.Errorf("create the dist directory: %w", err)
	}
	tmp, err := os.MkdirTemp(dist, ".build-")
	if err != nil {
		return nil, fmt.Errorf("create a build directory in %s: %w", dist, err)
	}
	defer removeTree(tmp)
	b := &build{o: o, c: c, tmp: tmp, deploy: deploy, res: &Result{Root: filepath.Join(dist, RootDir)}}
	b.staging = filepath.Join(tmp, RootDir, filepath.FromSlash(strings.TrimPrefix(deploy, "/")))
	if err := os.MkdirAll(b.staging, 0o755); err != nil {
		return nil, err
	}
	defer b.waitPrune()
	// dist/root is walked from the start, beside the interpreter's probe
	// and the resolution: when it is the tree the build comes to (a warm
	// build, an app-only change), nothing more is read of it.
	if fi, err := os.Lstat(b.res.Root); err == nil && fi.IsDir() && !o.NoCache {
		b.rootWalk = aside(func() ([]walked, error) { return walkTree(b.res.Root) })
		defer b.rootWalk() // no goroutine outlives the build
	}
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	// Seconds for a large tree, most of them the file system's: a phase of
	// its own, so that the log accounts for them.
	err = b.phase("clean up", func() (string, error) {
		var did []string
		// The old tree (linked from the cache too) goes first: removing it
		// changes the cached files' change time.
		err := removeTree(tmp)
		if b.replaced {
			did = append(did, "the tree dist/root held before removed")
		}
		if err == nil {
			did = append(did, b.stampTrees()...)
		}
		if n := b.waitPrune(); n > 0 {
			did = append(did, fmt.Sprintf("%d least recently used tree(s) removed from the cache", n))
		}
		if len(did) == 0 {
			return "the build directory removed", nil
		}
		return strings.Join(did, ", "), nil
	})
	return b.res, err
}

type build struct {
	o       Options
	c       *config.Config
	tmp     string
	staging string
	deploy  string
	res     *Result
	builder Builder
	interp  python.Interpreter
	pip     *Pip
	cache   *Cache
	// project is the project's wheel, once built.
	project *WheelFile
	// wheels are what the install put into the venv.
	wheels  []WheelFile
	srcDone bool
	srcEnv  []string
	// srcFiles are the project's source files, once listed (sourceFiles),
	// and srcHash their hash.
	srcFiles []string
	srcHash  string
	// ph is the running phase, told how far it is (progress).
	ph *ui.Phase
	// known is what the native installer learned of the files it wrote
	// (by path below the venv), for the check.
	known map[string]knownFile
	// tree is the finished tree's entries (below dist/root), whose files'
	// md5 sums are handed to gopythongo-package once the build is done
	// (stampTrees). stampKey is the cached tree this build made or
	// restored, whose files are stamped then too; stampLinked says they
	// are the files of dist/root, linked.
	tree        []Entry
	stampKey    string
	stampLinked bool
	// inPlace says dist/root is already the tree this build restored, so
	// it stays where it is.
	inPlace bool
	// rootWalk waits for the walk of dist/root started with the build;
	// nil when there was none to walk.
	rootWalk func() ([]walked, error)
	// pruned waits for the trees pruned while the build goes on.
	pruned func() (int, error)
	// replaced says dist/root held a tree, which this build's replaced.
	replaced bool
	// base is the tree's key without the project's wheel (baseKey).
	base string
	// skeleton are the directories python -m venv made (below the venv),
	// placed what each wheel put where (the native installer's plan):
	// what tells the project's part of the tree (projectOwned).
	skeleton map[string]bool
	placed   map[string][]string
	// For a tree made from a cached tree of the same dependencies (fromBase):
	// the cached tree it was made from and the entries its project made,
	// the entries (below the root) linked from that tree, what is known of
	// those files and the project's Python files, the only ones compiled
	// (nil compiles all).
	baseTree  string
	baseOwned []string
	// baseVenv is the record of that tree, whose interpreter package and
	// library dependencies this tree shares when neither project brings
	// ELF files.
	baseVenv    *state.Venv
	reduced     map[string]bool
	linked      map[string]knownFile
	compileOnly []string
	// stripOnly are the project's paths (below the venv), the only ones
	// venv.strip looks at in such a tree (nil: all).
	stripOnly []string
	// unverified says the resolved wheels came from a record and are not
	// hashed yet: a build whose tree the tree cache holds reads none of
	// them, any other verifies them first (wheelsVerified). recordless
	// makes resolve pass over the records, once one named a wheel that
	// is not what it says.
	unverified, recordless bool
}

// progress tells the running phase how far it is.
func (b *build) progress(format string, args ...any) {
	if b.ph != nil {
		b.ph.Progress(format, args...)
	}
}

func (b *build) scratch(name string) string { return filepath.Join(b.tmp, "scratch", name) }

func (b *build) phase(name string, f func() (string, error)) error {
	ph := b.o.Log.Phase(name)
	defer ph.End()
	b.ph = ph
	defer func() { b.ph = nil }()
	result, err := f()
	if err != nil {
		return err
	}
	ph.Done(result)
	return nil
}

// cacheDir is the wheel cache of the configuration.
func (b *build) cacheDir() string { return b.c.CacheDir(b.o.Getenv) }

// shared are the directories an isolated builder shows inside at their own
// paths: the project and what pip reads read-only, the build's scratch
// directory writable.
func (b *build) shared() []Shared {
	c := b.c
	out := []Shared{{Path: c.Dir, ReadOnly: true}, {Path: b.cacheDir(), ReadOnly: true}, {Path: b.tmp}}
	for _, fl := range c.Venv.FindLinks {
		if filepath.IsAbs(fl) && !strings.HasPrefix(fl, c.Dir+"/") {
			out = append(out, Shared{Path: fl, ReadOnly: true})
		}
	}
	for _, f := range append(slices.Clone(c.Venv.Requirements), c.Venv.Constraints...) {
		if p := c.Path(f); !strings.HasPrefix(p, c.Dir+"/") {
			out = append(out, Shared{Path: filepath.Dir(p), ReadOnly: true})
		}
	}
	if b.usesUV() {
		if uv, err := b.uvPath(); err == nil { // else the first uv run says what is missing
			out = append(out, Shared{Path: filepath.Dir(uv), ReadOnly: true})
		}
	}
	return out
}

func (b *build) run(ctx context.Context) error {
	c := b.c
	if err := os.MkdirAll(b.cacheDir(), 0o755); err != nil {
		return fmt.Errorf("create the wheel cache %s: %w", b.cacheDir(), err)
	}
	builder, err := NewBuilder(c.Venv.Builder, BuilderOptions{Python: c.Project.Python, Staging: b.staging, DeployPath: b.deploy, Scratch: b.scratch("ns"),
		Shared: b.shared(), Cache: b.cacheDir(), Chroot: c.Venv.Chroot, Container: c.Venv.Container, Dir: c.Dir, Log: b.o.Log.Printf})
	if err != nil {
		return err
	}
	if cl, ok := builder.(io.Closer); ok {
		defer cl.Close()
	}
	if err := b.setup(ctx, builder); err != nil {
		return err
	}
	var wheels []WheelFile
	if err := b.phase("resolve", func() (string, error) { return b.resolve(ctx, &wheels) }); err != nil {
		return err
	}
	b.res.Wheels = wheels
	in, err := b.treeInputs(wheels)
	if err != nil {
		return err
	}
	key := Key(in)
	b.base = b.baseKey(in)
	restored := false
	if rec, ok := b.cache.lookupTree(key); ok && !b.o.NoCache {
		if restored, err = b.restore(key, rec); err != nil {
			return err
		}
	}
	if !restored {
		if restored, err = b.fromBase(ctx, key, wheels); err != nil {
			return err
		}
	}
	if !restored {
		// The wheels are read from here on.
		again, err := b.wheelsVerified(ctx, &wheels)
		if err != nil {
			return err
		}
		if again {
			b.res.Wheels = wheels
			if in, err = b.treeInputs(wheels); err != nil {
				return err
			}
			key, b.base = Key(in), b.baseKey(in)
		}
		for _, s := range []struct {
			name string
			f    func() (string, error)
		}{
			{"venv", func() (string, error) { return b.createVenv(ctx) }},
			{"install", func() (string, error) { return b.install(ctx, wheels) }},
			{"finish", func() (string, error) {
				// The tree joins the cache: the least recently used go
				// meanwhile, beside the compile, which needs the processor
				// where they need the disk (not beside the install,
				// which needs it too).
				b.pruned = b.cache.pruneTreesAside(keptTrees - 1)
				return b.finish(ctx)
			}},
		} {
			if err := b.phase(s.name, s.f); err != nil {
				return err
			}
		}
		if err := b.seal(ctx, key, wheels); err != nil {
			return err
		}
	}
	// The builders mount the tree at the deploy path for the sdist's
	// backend too, so it moves to dist/root last.
	if c.Venv.Dists && c.Venv.Project {
		if err := b.phase("dists", func() (string, error) { return b.dists(ctx) }); err != nil {
			return err
		}
	}
	return b.place(filepath.Join(b.tmp, RootDir))
}

// wheelsVerified hashes the resolved wheels before anything reads them,
// when they came from a record unhashed. A wheel that is not what the record
// says is removed from the cache, and the wheels are resolved again without
// the records (again is true): as a build without that record would.
func (b *build) wheelsVerified(ctx context.Context, wheels *[]WheelFile) (again bool, err error) {
	if !b.unverified {
		return false, nil
	}
	b.unverified = false
	err = b.cache.Verify(*wheels)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("verify the cached wheels: %w", err)
	}
	b.o.Log.Warnf("the wheel cache holds a wheel that is not what its record says (%v): resolving again", err)
	b.recordless = true
	b.res.ResolutionCached = false
	return true, b.phase("resolve", func() (string, error) { return b.resolve(ctx, wheels) })
}

// walkRoot is dist/root as the build found it when it started, nil when
// there was none or it could not be walked.
func (b *build) walkRoot() []walked {
	if b.rootWalk == nil {
		return nil
	}
	found, err := b.rootWalk()
	if err != nil {
		return nil
	}
	return found
}

// waitPrune waits for the trees pruned while the build went on and says
// how many went; one left is pruned by the next build.
func (b *build) waitPrune() int {
	if b.pruned == nil {
		return 0
	}
	wait := b.pruned
	b.pruned = nil
	n, err := wait()
	if err != nil {
		b.o.Log.Warnf("the least recently used trees were not all removed from the cache (the next build tries again): %v", err)
	}
	return n
}

// BuildDists builds only the project's wheel and sdist into dist/python
// (gopythongo-build-venv --dist-only), with this machine's interpreter.
func BuildDists(ctx context.Context, o Options) (*Result, error) {
	c := o.Config
	if err := os.MkdirAll(c.DistDir(), 0o755); err != nil {
		return nil, fmt.Errorf("create the dist directory: %w", err)
	}
	tmp, err := os.MkdirTemp(c.DistDir(), ".build-")
	if err != nil {
		return nil, fmt.Errorf("create a build directory in %s: %w", c.DistDir(), err)
	}
	defer os.RemoveAll(tmp)
	b := &build{o: o, c: c, tmp: tmp, res: &Result{}}
	if err := b.setup(ctx, &plain{python: c.Project.Python}); err != nil {
		return nil, err
	}
	if err := b.phase("project", func() (string, error) {
		w, cached, err := b.projectWheel(ctx)
		b.project, b.res.ProjectCached = &w, cached
		if cached {
			return w.File + " (from the cache)", err
		}
		return w.File, err
	}); err != nil {
		return nil, err
	}
	if err := b.phase("dists", func() (string, error) { return b.dists(ctx) }); err != nil {
		return nil, err
	}
	return b.res, nil
}

// dists writes the project's wheel and sdist to dist/python.
func (b *build) dists(ctx context.Context) (string, error) {
	arts, err := b.writeDists(ctx, *b.project)
	if err != nil {
		return "", err
	}
	b.res.Dists = arts
	var names []string
	for _, a := range arts {
		names = append(names, a.Path)
	}
	return strings.Join(names, ", "), nil
}

// setup probes the interpreter and prepares the cache and pip.
func (b *build) setup(ctx context.Context, builder Builder) error {
	c := b.c
	b.builder = builder
	var err error
	if err := b.phase("interpreter", func() (string, error) {
		if b.interp, err = b.builder.Interpreter(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %s (%s)", b.interp.Implementation, b.interp.Version, b.interp.Executable), nil
	}); err != nil {
		return err
	}
	b.cache = &Cache{Dir: b.cacheDir()}
	_, isolated := builder.(isolatedBuilder)
	if b.pip, err = FindPip(ctx, b.interp, c.Venv.PipWheel, b.cache, !isolated); err != nil {
		return err
	}
	if err := b.pip.Configure(c.Venv, c.Dir, b.scratch("pip"), b.o.Epoch.Unix(), b.o.Getenv); err != nil {
		return err
	}
	// Compiled code names its sources by path: the build's directory is
	// mapped away, so that no build path leaks into the venv and the same
	// source compiles to the same bytes in any workspace.
	b.pip.Env = prefixMap(b.pip.Env, b.tmp)
	b.pip.Log, b.pip.Verbose, b.pip.Progress = b.o.Output, b.o.Verbose, b.progress
	b.res.Secrets = b.pip.Secrets
	return nil
}

// prefixMap adds the compilers' path-mapping flags for dir to an environment,
// after any flags the configuration sets.
func prefixMap(env []string, dir string) []string {
	flags := map[string]string{"CFLAGS": "-ffile-prefix-map=" + dir + "=.", "CXXFLAGS": "-ffile-prefix-map=" + dir + "=.",
		"RUSTFLAGS": "--remap-path-prefix=" + dir + "=."}
	out := slices.Clone(env)
	for i, kv := range out {
		k, v, _ := strings.Cut(kv, "=")
		if f, ok := flags[k]; ok {
			out[i] = k + "=" + strings.TrimSpace(v+" "+f)
			delete(flags, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		out = append(out, k+"="+flags[k])
	}
	return out
}

// target names the system the venv is built in, for the cache keys: a wheel
// compiled in one root or image is not taken for another.
func (b *build) target() string {
	if t, ok := b.builder.(isolatedBuilder); ok {
		return t.Name() + ":" + t.Target().Key
	}
	return b.builder.Name()
}

// TestVenv is a throwaway venv for the test suites, made where they run.
type TestVenv struct {
	Python  string   // its interpreter, where Run runs it
	Secrets []string // of the index configuration, to mask in the CI's log
	// Run runs a command where the venv works; nil means this machine, as
	// it is.
	Run   func(ctx context.Context, c Command) error
	close func() error
}

// Close removes what making the venv needed (a builder's container, its
// scratch directory).
func (t *TestVenv) Close() error {
	if t == nil || t.close == nil {
		return nil
	}
	return t.close()
}

// TestEnv makes a throwaway venv at dir with the project, the given extras
// and requirements, through the same wheel cache as Build. On this machine
// by default; inBuilder makes it in venv.builder (a chroot or container, dir
// at the same path inside), so that the suites run where the venv is built
// and compiled code is tested as it ships.
func TestEnv(ctx context.Context, o Options, dir string, extras, requirements []string, systemSite, inBuilder bool) (*TestVenv, error) {
	c := *o.Config
	if c.Venv.Lock != "" && len(requirements) > 0 {
		// The tests install from the build's lock, like the build.
		return nil, c.Errorf("test.requirements", "test.requirements cannot be used with venv.lock: the test venv installs from the same lock as the build; put the test dependencies into the project's test extra (test.extra) and lock again")
	}
	c.Venv.Extras, c.Venv.Requirements, c.Venv.Packages = extras, requirements, nil
	c.Venv.SystemSitePackages, c.Venv.Pip, c.Venv.Project = systemSite, false, true
	o.Config = &c
	tmp, err := os.MkdirTemp(c.DistDir(), ".test-build-")
	if err != nil {
		return nil, fmt.Errorf("create a build directory in %s: %w", c.DistDir(), err)
	}
	tv := &TestVenv{close: func() error { return os.RemoveAll(tmp) }}
	ok := false
	defer func() {
		if !ok {
			tv.Close()
		}
	}()
	b := &build{o: o, c: &c, tmp: tmp, deploy: dir, res: &Result{}}
	var builder Builder = &plain{python: c.Project.Python}
	if inBuilder {
		if err := os.MkdirAll(b.cacheDir(), 0o755); err != nil {
			return nil, fmt.Errorf("create the wheel cache %s: %w", b.cacheDir(), err)
		}
		built, err := NewBuilder(c.Venv.Builder, BuilderOptions{Python: c.Project.Python, Staging: dir, DeployPath: dir, Scratch: b.scratch("ns"),
			Shared: b.shared(), Cache: b.cacheDir(), Chroot: c.Venv.Chroot, Container: c.Venv.Container, Dir: c.Dir, Log: b.o.Log.Printf})
		if err != nil {
			return nil, err
		}
		builder, tv.Run = built, built.Run
		if cl, isCloser := built.(io.Closer); isCloser {
			tv.close = func() error { err := cl.Close(); os.RemoveAll(tmp); return err }
		}
	}
	if err := b.setup(ctx, builder); err != nil {
		return nil, err
	}
	var wheels []WheelFile
	if err := b.phase("resolve", func() (string, error) { return b.resolve(ctx, &wheels) }); err != nil {
		return nil, err
	}
	if _, err := b.wheelsVerified(ctx, &wheels); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name string
		f    func() (string, error)
	}{
		{"test venv", func() (string, error) { return b.createVenv(ctx) }},
		{"install", func() (string, error) { return b.install(ctx, wheels) }},
	} {
		if err := b.phase(s.name, s.f); err != nil {
			return nil, err
		}
	}
	tv.Python, tv.Secrets, ok = b.venvPython(), b.res.Secrets, true
	return tv, nil
}

// venvPython is the venv's interpreter at the deploy path.
func (b *build) venvPython() string { return filepath.Join(b.deploy, "bin", "python") }

// resolve finds every wheel to install: from the cache when the inputs are
// unchanged (no wheel built, no index asked), else built and downloaded by pip.
func (b *build) resolve(ctx context.Context, out *[]WheelFile) (string, error) {
	c := b.c
	var project *WheelFile
	if c.Venv.Project {
		w, cached, err := b.projectWheel(ctx)
		if err != nil {
			return "", err
		}
		project, b.res.ProjectCached = &w, cached
		b.project = project
	}
	if c.Venv.Lock != "" || c.Venv.Resolver == "uv" {
		lockPath := c.Path(c.Venv.Lock)
		if c.Venv.Lock == "" {
			var err error
			if lockPath, err = b.uvCompile(ctx, project); err != nil {
				return "", err
			}
		}
		ws, summary, err := b.resolveLock(ctx, lockPath, c.Venv.Extras, project)
		if err != nil {
			return "", err
		}
		slices.SortFunc(ws, func(a, b WheelFile) int { return strings.Compare(a.File, b.File) })
		*out = ws
		b.res.ResolutionCached = strings.Contains(summary, "from the cache")
		return summary, nil
	}
	hashMode, err := requiresHashes(c, c.Venv.Requirements)
	if err != nil {
		return "", err
	}
	inputs, err := b.resolutionInputs(project)
	if err != nil {
		return "", err
	}
	key := Key(inputs)
	if ws, ok := b.cache.Recorded("resolutions", key); ok && !b.o.NoCache && !b.recordless {
		*out = ws
		b.res.ResolutionCached, b.unverified = true, true
		return fmt.Sprintf("%d wheel(s) from the cache, nothing built or downloaded", len(ws)), nil
	}
	local, err := b.resolveLocal(ctx, project, hashMode)
	var why giveUp
	switch {
	case err == nil:
		if err := b.cache.Record("resolutions", key, local); err != nil {
			return "", err
		}
		*out = local
		return fmt.Sprintf("%d wheel(s) resolved from find_links and cached", len(local)), nil
	case !errors.As(err, &why):
		return "", err
	}
	dir := b.scratch("wheels")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	args := append([]string{"wheel", "--wheel-dir", dir}, b.pip.Index...)
	if !c.Venv.BuildIsolation {
		args = append(args, "--no-build-isolation")
	}
	if c.Venv.NoBuild {
		args = append(args, "--only-binary", ":all:")
	}
	if hashMode {
		args = append(args, "--require-hashes")
	}
	for _, f := range c.Venv.Constraints {
		args = append(args, "--constraint", c.Path(f))
	}
	var reqs []string
	for _, f := range c.Venv.Requirements {
		reqs = append(reqs, "--requirement", c.Path(f))
	}
	reqs = append(reqs, c.Venv.Packages...)
	if project != nil && !hashMode {
		// The project's wheel brings its dependencies along.
		req := project.Path
		if len(c.Venv.Extras) > 0 {
			req = projectName(project.File) + "[" + strings.Join(c.Venv.Extras, ",") + "] @ file://" + project.Path
		}
		reqs = append(reqs, req)
	}
	if len(reqs) > 0 {
		if err := b.pip.run(ctx, b.builder, c.Dir, append(args, reqs...)...); err != nil {
			return "", explainPip(err, c)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	var ws []WheelFile
	for _, f := range files {
		// pip chose for the interpreter it ran; held against the target's
		// own tags all the same, so that a wheel that cannot run there
		// never reaches the venv.
		if choice := b.interp.ChooseWheel([]string{filepath.Base(f)}); choice.File == "" {
			return "", fmt.Errorf("pip chose %s, which does not run on the target: %s", filepath.Base(f), strings.Join(choice.Refused, "; "))
		}
		w, err := b.cache.Put(f)
		if err != nil {
			return "", err
		}
		ws = append(ws, w)
	}
	if project != nil && !slices.ContainsFunc(ws, func(w WheelFile) bool { return w.SHA256 == project.SHA256 }) {
		ws = append(ws, *project)
	}
	slices.SortFunc(ws, func(a, b WheelFile) int { return strings.Compare(a.File, b.File) })
	if err := b.cache.Record("resolutions", key, ws); err != nil {
		return "", err
	}
	*out = ws
	if c.Venv.Resolver == "native" {
		return fmt.Sprintf("%d wheel(s) resolved by pip and cached (not without it: %s)", len(ws), why), nil
	}
	return fmt.Sprintf("%d wheel(s) resolved by pip and cached", len(ws)), nil
}

// localResolver is the resolver of the configuration's find_links, or a
// giveUp error when pip must resolve.
func (b *build) localResolver() (*localResolver, error) {
	c := b.c
	switch {
	case c.Venv.Resolver != "native":
		return nil, giveUp("venv.resolver is " + c.Venv.Resolver)
	case !c.Venv.NoIndex:
		return nil, giveUp("an index may hold other versions (venv.no_index is false)")
	case len(c.Venv.FindLinks) == 0:
		return nil, giveUp("there are no find_links")
	}
	var dirs []string
	for _, fl := range c.Venv.FindLinks {
		if strings.Contains(fl, "://") {
			return nil, giveUp("find_links " + fl + " is a URL")
		}
		dirs = append(dirs, c.Path(fl))
	}
	return newLocalResolver(b.interp, dirs, c.Venv.NoBuild)
}

// resolveLocal resolves from local find_links without pip where pip's
// answer is certain (localResolver); a giveUp error says why not.
func (b *build) resolveLocal(ctx context.Context, project *WheelFile, hashMode bool) ([]WheelFile, error) {
	c := b.c
	switch {
	case hashMode:
		return nil, giveUp("the requirements pin hashes")
	case len(c.Venv.Constraints) > 0:
		return nil, giveUp("venv.constraints are set")
	}
	r, err := b.localResolver()
	if err != nil {
		return nil, err
	}
	var roots []pep508.Requirement
	for _, p := range c.Venv.Packages {
		r, err := pep508.ParseRequirement(p)
		if err != nil {
			return nil, giveUp(err.Error())
		}
		roots = append(roots, r)
	}
	for _, f := range c.Venv.Requirements {
		rs, err := plainRequirements(c.Path(f))
		if err != nil {
			return nil, err
		}
		roots = append(roots, rs...)
	}
	var pd *localDist
	if project != nil {
		md, err := python.WheelMetadata(project.Path)
		if err != nil {
			return nil, err
		}
		v, err := pep440.Parse(md.Version)
		if err != nil {
			return nil, giveUp(fmt.Sprintf("the project's version %s: %v", md.Version, err))
		}
		pd = &localDist{name: python.Normalize(md.Name), version: v, path: project.Path, meta: &md}
	}
	extras := make([]string, len(c.Venv.Extras))
	for i, e := range c.Venv.Extras {
		extras[i] = python.Normalize(e)
	}
	dists, err := r.resolve(ctx, roots, pd, extras)
	if err != nil {
		return nil, err
	}
	ws := make([]WheelFile, len(dists))
	if err := parallel(len(dists), func(i int) error {
		if dists[i] == pd {
			ws[i] = *project
			return nil
		}
		w, err := b.cache.Put(dists[i].path)
		ws[i] = w
		return err
	}); err != nil {
		return nil, err
	}
	slices.SortFunc(ws, func(a, b WheelFile) int { return strings.Compare(a.File, b.File) })
	return ws, nil
}

// plainRequirements reads a requirements file that holds only PEP 508
// requirements and comments; options, includes, URLs and variables are
// pip's to read (a giveUp error).
func plainRequirements(file string) ([]pep508.Requirement, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("venv.requirements: %w", err)
	}
	var out []pep508.Requirement
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.Index(line, " #"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "-") || strings.Contains(line, "${") || strings.HasSuffix(line, "\\"):
			return nil, giveUp(fmt.Sprintf("%s line %d is for pip to read", filepath.Base(file), i+1))
		}
		r, err := pep508.ParseRequirement(line)
		if err != nil {
			return nil, giveUp(fmt.Sprintf("%s line %d: %v", filepath.Base(file), i+1, err))
		}
		out = append(out, r)
	}
	return out, nil
}

func projectName(wheelFile string) string {
	w, err := python.ParseWheelName(wheelFile)
	if err != nil {
		return wheelFile
	}
	return w.Name
}

// explainPip turns pip's common failures into what to do about them.
func explainPip(err error, c *config.Config) error {
	switch {
	case c.Venv.NoBuild:
		return fmt.Errorf("pip could not find everything as a wheel (venv.no_build is set, so sdists are refused; pip's message is above): %w", err)
	case c.Venv.NoIndex:
		return fmt.Errorf("pip could not resolve the requirements from find_links alone (venv.no_index is set; the missing distribution is named above): %w", err)
	}
	return fmt.Errorf("pip could not build or download the requirements (see pip's output above): %w", err)
}

// requiresHashes reports whether any requirements file pins a hash, which puts
// pip into hash-checking mode for everything.
func requiresHashes(c *config.Config, files []string) (bool, error) {
	for _, f := range files {
		fh, err := os.Open(c.Path(f))
		if err != nil {
			return false, fmt.Errorf("venv.requirements: %w", err)
		}
		sc := bufio.NewScanner(fh)
		found := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "--hash") {
				found = true
				break
			}
		}
		fh.Close()
		if found {
			return true, nil
		}
	}
	return false, nil
}

// pipIdentity names the pip that builds, for cache keys: a pip unpacked
// into the cache by its path inside the cache (content-addressed by the
// wheel's sha256), so that a cache restored at another path stays warm.
func (b *build) pipIdentity() []string {
	out := slices.Clone(b.pip.Base[1:])
	for i, a := range out {
		if rel, err := filepath.Rel(b.cache.Dir, a); err == nil && filepath.IsLocal(rel) {
			out[i] = "cache:" + filepath.ToSlash(rel)
		}
	}
	return out
}

// projectWheel builds the project into a wheel (PEP 517) from a copy of its
// source, or takes it from the cache when that source was built before.
func (b *build) projectWheel(ctx context.Context) (WheelFile, bool, error) {
	c := b.c
	if !hasBuildFile(c.Dir) {
		return WheelFile{}, false, c.Errorf("venv.project", "%s holds no pyproject.toml (nor setup.py), so there is no project to build: add a pyproject.toml with [project] and [build-system], or set venv.project: false to install only venv.packages and venv.requirements", c.Dir)
	}
	src, err := b.sourceHash(ctx)
	if err != nil {
		return WheelFile{}, false, err
	}
	key := Key(map[string]any{"source": src, "python": b.interp.Executable, "version": b.interp.Version,
		"tag": firstTag(b.interp), "target": b.target(), "isolation": c.Venv.BuildIsolation, "epoch": b.o.Epoch.Unix(), "pip": b.pipIdentity(),
		"set_version": b.setVersion()})
	if ws, ok := b.cache.Lookup("projects", key); ok && !b.o.NoCache {
		return ws[0], true, nil
	}
	copyDir, env, err := b.source(ctx)
	if err != nil {
		return WheelFile{}, false, err
	}
	out := b.scratch("project")
	bs, err := declaredBuildSystem(copyDir)
	if err != nil {
		return WheelFile{}, false, err
	}
	// What pip wheel does, without pip's start: the hooks, with build
	// isolation in a build environment from the cache.
	var be *buildEnv
	err = giveUp("pyproject.toml declares no build-backend")
	if bs.Backend != "" {
		be, err = b.buildEnv(ctx, bs.Requires)
	}
	var why giveUp
	switch {
	case err == nil:
		if err := b.wheelByHooks(ctx, copyDir, env, out, be); err != nil {
			if errors.As(err, &why) {
				return b.projectByPip(ctx, copyDir, env, out, key)
			}
			return WheelFile{}, false, fmt.Errorf("build the project's wheel (PEP 517, %s) from %s: %w", bs.Backend, c.Dir, err)
		}
	case !errors.As(err, &why):
		return WheelFile{}, false, err
	default:
		return b.projectByPip(ctx, copyDir, env, out, key)
	}
	return b.keepProject(out, key)
}

// projectByPip builds the project's wheel with pip wheel.
func (b *build) projectByPip(ctx context.Context, copyDir string, env []string, out, key string) (WheelFile, bool, error) {
	c := b.c
	args := append([]string{"wheel", "--no-deps", "--wheel-dir", out}, b.pip.Index...)
	if !c.Venv.BuildIsolation {
		args = append(args, "--no-build-isolation")
	}
	if err := b.pip.runWith(ctx, b.builder, copyDir, env, append(args, copyDir)...); err != nil {
		return WheelFile{}, false, fmt.Errorf("build the project's wheel (PEP 517) from %s: %w", c.Dir, err)
	}
	return b.keepProject(out, key)
}

// keepProject takes the project's wheel built into out into the cache.
func (b *build) keepProject(out, key string) (WheelFile, bool, error) {
	files, _ := filepath.Glob(filepath.Join(out, "*.whl"))
	if len(files) != 1 {
		return WheelFile{}, false, fmt.Errorf("building the project gave %d wheels, expected 1", len(files))
	}
	if v := b.setVersion(); v != "" {
		w, err := python.ParseWheelName(files[0])
		if err != nil {
			return WheelFile{}, false, err
		}
		if err := checkVersion(files[0], w.Version, v); err != nil {
			return WheelFile{}, false, err
		}
	}
	w, err := b.cache.Put(files[0])
	if err != nil {
		return WheelFile{}, false, err
	}
	return w, false, b.cache.Record("projects", key, []WheelFile{w})
}

// setVersion is the version the project is built with, "" for the one its
// source declares.
func (b *build) setVersion() string {
	if b.c.Venv.SetVersion {
		return b.o.Version
	}
	return ""
}

// source copies the project's source for building, once, so that the
// workspace gets no build/ or .egg-info and the build does not depend on where
// the workspace is; the copy declares the version being built. It returns the
// copy and the variables the build backend needs.
func (b *build) source(ctx context.Context) (string, []string, error) {
	dir := b.scratch("src")
	if b.srcDone {
		return dir, b.srcEnv, nil
	}
	files, err := b.sourceFiles(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("list the project's source: %w", err)
	}
	if err := copySource(b.c.Dir, dir, files); err != nil {
		return "", nil, err
	}
	if v := b.setVersion(); v != "" {
		env, err := setVersion(dir, v)
		if err != nil {
			return "", nil, err
		}
		b.srcEnv = env
	}
	b.srcDone = true
	return dir, b.srcEnv, nil
}

// hasBuildFile reports whether dir holds a file pip builds a project from.
func hasBuildFile(dir string) bool {
	for _, f := range []string{"pyproject.toml", "setup.py"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

func firstTag(in python.Interpreter) string {
	if len(in.Tags) > 0 {
		return in.Tags[0].String()
	}
	return ""
}

// sourceFiles lists the project's source once a build.
func (b *build) sourceFiles(ctx context.Context) ([]string, error) {
	if b.srcFiles == nil {
		files, err := sourceFiles(ctx, b.c.Dir, b.c.DistDir())
		if err != nil {
			return nil, err
		}
		b.srcFiles = files
	}
	return b.srcFiles, nil
}

// sourceHash hashes the project's source once a build.
func (b *build) sourceHash(ctx context.Context) (string, error) {
	if b.srcHash == "" {
		files, err := b.sourceFiles(ctx)
		if err != nil {
			return "", fmt.Errorf("list the project's source: %w", err)
		}
		if b.srcHash, err = hashSource(b.c.Dir, files); err != nil {
			return "", fmt.Errorf("hash the project's source: %w", err)
		}
	}
	return b.srcHash, nil
}

// copySource copies the files sourceFiles listed, which hashSource reads.
func copySource(from, to string, files []string) error {
	for _, rel := range files {
		src := filepath.Join(from, rel)
		fi, err := os.Lstat(src)
		if err != nil {
			continue
		}
		dst := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(src)
			if err := os.Symlink(t, dst); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(src, dst, fi.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// resolutionInputs is everything that decides which wheels a build installs.
func (b *build) resolutionInputs(project *WheelFile) (map[string]any, error) {
	c := b.c
	files := map[string]string{}
	for _, f := range append(slices.Clone(c.Venv.Requirements), c.Venv.Constraints...) {
		sum, err := sha256File(c.Path(f))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		files[f] = sum
	}
	var links []string
	for _, fl := range c.Venv.FindLinks {
		if strings.Contains(fl, "://") {
			links = append(links, fl)
			continue
		}
		names, _ := filepath.Glob(filepath.Join(c.Path(fl), "*"))
		for _, n := range names {
			links = append(links, fl+"/"+filepath.Base(n))
		}
	}
	urls := append([]string{c.Venv.IndexURL}, c.Venv.ExtraIndexURLs...) // unexpanded: no credentials in the key
	in := map[string]any{
		"files": files, "packages": c.Venv.Packages, "extras": c.Venv.Extras, "links": links, "urls": urls,
		"no_index": c.Venv.NoIndex, "trusted": c.Venv.TrustedHosts, "no_build": c.Venv.NoBuild,
		"isolation": c.Venv.BuildIsolation, "python": b.interp.Executable, "version": b.interp.Version, "tags": firstTag(b.interp), "target": b.target(),
	}
	if project != nil {
		in["project"] = project.SHA256
	}
	return in, nil
}

func (b *build) createVenv(ctx context.Context) (string, error) {
	c := b.c
	argv := []string{b.interp.Path, "-m", "venv"}
	if !c.Venv.Pip {
		argv = append(argv, "--without-pip")
	}
	if c.Venv.SystemSitePackages {
		argv = append(argv, "--system-site-packages")
	}
	argv = append(argv, b.deploy)
	var out strings.Builder
	if err := b.builder.Run(ctx, Command{Argv: argv, Env: b.pip.Env, Dir: "/", Stdout: &out, Stderr: &out}); err != nil {
		return "", fmt.Errorf("create the venv: %w\n%s", err, out.String())
	}
	skeleton, err := dirsBelow(b.stagingVenv())
	if err != nil {
		return "", err
	}
	b.skeleton = skeleton
	return fmt.Sprintf("%s at %s", strings.Join(argv[1:len(argv)-1], " "), b.deploy), nil
}

// installers is the one table of installer implementations.
var installers = map[string]func(b *build) Installer{
	"native": func(b *build) Installer {
		// What it learns of the files it writes spares the check reading
		// them again.
		b.known, b.placed = map[string]knownFile{}, map[string][]string{}
		return &nativeInstaller{staging: b.stagingVenv(), deploy: b.deploy, layout: b.layout(), limits: b.limits(), progress: b.progress,
			needles: newNeedleSet(b.needles()), known: b.known, placed: b.placed}
	},
	"pip": func(b *build) Installer { return b.pipInstaller() },
	"uv":  func(b *build) Installer { return &uvInstaller{b: b, check: b.pipInstaller()} },
}

func (b *build) pipInstaller() *pipInstaller {
	return &pipInstaller{pip: b.pip, venvPython: b.venvPython(), dir: b.scratch("install"), staging: b.stagingVenv(), layout: b.layout(), limits: b.limits()}
}

func (b *build) layout() layout {
	return layout{pyver: fmt.Sprintf("%d.%d", b.interp.Major, b.interp.Minor)}
}

// limits are venv.wheel_limits, validated with the configuration.
func (b *build) limits() python.WheelLimits {
	l := b.c.Venv.WheelLimits
	entry, _ := config.ParseSize(l.MaxEntrySize)
	total, _ := config.ParseSize(l.MaxSize)
	return python.WheelLimits{MaxEntrySize: entry, MaxSize: total, MaxRatio: int64(l.MaxRatio)}
}

// stagingVenv is the venv as this machine sees it: the staging directory, or
// for the test venv its own directory.
func (b *build) stagingVenv() string {
	if b.staging != "" {
		return b.staging
	}
	return b.deploy
}

func (b *build) install(ctx context.Context, wheels []WheelFile) (string, error) {
	b.wheels = wheels
	inst := installers[b.c.Venv.Installer](b)
	if err := inst.Install(ctx, b.builder, wheels); err != nil {
		return "", err
	}
	if hashMode, _ := requiresHashes(b.c, b.c.Venv.Requirements); hashMode {
		// Each wheel went in with --no-deps: make sure nothing is missing, as
		// every dependency has to be pinned with a hash.
		if err := b.pip.run(ctx, b.builder, "/", "--python", b.venvPython(), "check"); err != nil {
			return "", fmt.Errorf("a dependency is not pinned in the requirements (hash-checking mode installs only what is listed; see pip check above): %w", err)
		}
	}
	return fmt.Sprintf("%d distribution(s), %s installer", len(wheels), b.c.Venv.Installer), nil
}

// finish copies extra files, runs post_build, strips and compiles.
func (b *build) finish(ctx context.Context) (string, error) {
	c := b.c
	var did []string
	if len(c.Venv.ExtraFiles) > 0 {
		root, err := fsroot.Open(b.staging)
		if err != nil {
			return "", err
		}
		defer root.Close()
		for _, f := range c.Venv.ExtraFiles {
			if err := copyExtra(root, c.Path(f.Src), path.Clean(f.Dst), f.Mode); err != nil {
				return "", fmt.Errorf("venv.extra_files %s: %w", f.Src, err)
			}
		}
	}
	if n := len(c.Venv.ExtraFiles); n > 0 {
		did = append(did, fmt.Sprintf("%d extra file(s)", n))
	}
	// post_build runs in the venv, not the checkout: the deploy path (or
	// venv.post_build_dir in it) is its working directory, the checkout is
	// not on sys.path (PYTHONSAFEPATH) and cannot be written, so what it
	// makes (collectstatic's files) lands in the venv, and a command that
	// writes into the workspace fails instead of leaving the package short.
	dir := path.Join(b.deploy, c.Venv.PostBuildDir)
	env := append(slices.Clone(b.pip.Env), "PYTHONSAFEPATH=1")
	for _, argv := range c.Venv.PostBuild {
		full := append([]string{b.venvPython()}, argv...)
		var out strings.Builder
		w := io.Writer(&out)
		if b.o.Verbose {
			w = b.o.Output
		}
		if err := b.builder.Run(ctx, Command{Argv: full, Env: env, Dir: dir, ReadOnly: []string{c.Dir}, Stdout: w, Stderr: w}); err != nil {
			hint := ""
			if strings.Contains(out.String(), "Read-only file system") {
				hint = fmt.Sprintf("\n(post_build may not write into the checkout %s, which is read-only while it runs: write into the venv, e.g. Django's STATIC_ROOT below %s)", c.Dir, b.deploy)
			}
			return "", fmt.Errorf("post_build command failed: %w\n%s%s", err, tail(out.String(), 40), hint)
		}
	}
	if n := len(c.Venv.PostBuild); n > 0 {
		did = append(did, fmt.Sprintf("%d post_build command(s)", n))
	}
	n, err := strip(b.staging, c.Venv.Strip, b.stripOnly)
	if err != nil {
		return "", err
	}
	b.res.Stripped = n
	if n > 0 {
		did = append(did, fmt.Sprintf("stripped %d path(s)", n))
	}
	if c.Venv.StripDebug {
		n, err := b.stripDebug(ctx, b.wheels)
		if err != nil {
			return "", err
		}
		if n > 0 {
			did = append(did, fmt.Sprintf("debug symbols stripped from %d file(s)", n))
		}
	}
	if c.Venv.Compile && (b.compileOnly == nil || len(b.compileOnly) > 0) {
		done, err := b.compile(ctx, b.compileOnly)
		if err != nil {
			return "", err
		}
		did = append(did, done)
	}
	if len(did) == 0 {
		return "nothing to do", nil
	}
	return strings.Join(did, ", "), nil
}

// copyExtra copies a file or a directory of the project into the venv,
// beneath it and through no link; it replaces nothing.
func copyExtra(root *fsroot.Root, src, dst, mode string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			return copyExtra(root, p, path.Join(dst, filepath.ToSlash(rel)), mode)
		})
	}
	perm := fi.Mode().Perm()
	if mode != "" {
		m, _ := strconv.ParseUint(mode, 8, 32) // validated with the configuration
		perm = fs.FileMode(m)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.Create(dst, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s is in the venv already (the venv, a wheel or post_build made it); extra_files adds files and replaces none", dst)
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// needles are the build's paths, which no file of the venv may name.
func (b *build) needles() []string {
	return []string{b.tmp, b.c.Dir, b.c.DistDir(), b.cache.Dir}
}

// seal checks the tree for leaked build paths, sets every time stamp, records
// what it holds and keeps it in the tree cache.
func (b *build) seal(ctx context.Context, key string, wheels []WheelFile) error {
	c := b.c
	ph := b.o.Log.Phase("check")
	defer ph.End()
	needles := b.needles()
	root := filepath.Join(b.tmp, RootDir)
	known := b.linked
	if known == nil {
		known = map[string]knownFile{}
	}
	if prefix, err := filepath.Rel(root, b.stagingVenv()); err == nil {
		for rel, k := range b.known {
			known[path.Join(filepath.ToSlash(prefix), rel)] = k
		}
	}
	entries, leaks, err := scanTree(root, needles, known)
	if err != nil {
		return err
	}
	if len(leaks) > 0 {
		var lines []string
		for i, l := range leaks {
			if i == 10 {
				lines = append(lines, fmt.Sprintf("  and %d more", len(leaks)-10))
				break
			}
			lines = append(lines, fmt.Sprintf("  %s contains %s", l.File, l.Needle))
		}
		return fmt.Errorf("the venv names paths of the build machine, so it would break when deployed:\n%s\n(a post_build command or a package that records its build path; strip the files or fix the package)", strings.Join(lines, "\n"))
	}
	// What the tree needs of the system (the interpreter's package, the
	// packages of the shared libraries its ELF files load) is asked while
	// the tree gets its times and is linked into the cache: the one waits
	// on dpkg-query, the others write.
	var (
		pkg     string
		depends []string
		needErr error
	)
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		if v := b.baseVenv; v != nil {
			pkg, depends = v.Interpreter.Package, v.Depends
			if pkg == "" {
				b.warnNoPackage()
			}
			return
		}
		pkg = b.interpreterPackage(ctx)
		libs, err := neededLibraries(root)
		if err == nil && len(libs.libs) > 0 {
			depends, err = b.libraryDepends(ctx, libs)
		}
		needErr = err
	}()
	defer func() { <-asked }()
	if err := setEntryTimes(root, entries, b.o.Epoch); err != nil {
		return err
	}
	for i := range entries {
		entries[i].MTime = b.o.Epoch.UnixNano()
	}
	info := summarize(entries)
	dists, err := distributions(b.staging, wheels, c.Project.Name)
	if err != nil {
		return err
	}
	record := sync.OnceValues(func() (state.Venv, error) {
		<-asked
		if needErr != nil {
			return state.Venv{}, needErr
		}
		v := state.Venv{
			DeployPath:    b.deploy,
			Root:          filepath.ToSlash(filepath.Join(c.Project.Dist, RootDir)),
			Builder:       b.builder.Name(),
			Interpreter:   state.Interpreter{Path: b.interp.Path, Version: b.interp.Version, Implementation: b.interp.Implementation, Executable: b.interp.Executable, Package: pkg},
			Distributions: dists,
			Size:          info.Size,
			Files:         info.Files,
			Digest:        info.Digest,
			Depends:       depends,
		}
		if t, ok := b.builder.(isolatedBuilder); ok {
			v.Target = t.Target()
		}
		return v, nil
	})
	rec := sync.OnceValues(func() (treeRecord, error) {
		v, err := record()
		return treeRecord{Venv: v, Stripped: b.res.Stripped, Project: b.projectOwned(entries, root)}, err
	})
	keep := b.cache.keepTree
	if b.baseTree != "" {
		keep = b.keepFromBase
	}
	linked, keepErr := keep(key, root, entries, rec)
	if b.res.Venv, err = record(); err != nil {
		return err
	}
	kept := ", kept in the cache"
	if keepErr != nil {
		// A tree not kept costs the next build its time, not its result.
		b.o.Log.Warnf("the finished tree was not kept in the cache (the next build makes it again): %v", keepErr)
		kept = ""
	} else if linked {
		b.stampKey, b.stampLinked = key, true
	}
	b.tree = entries
	ph.Done(fmt.Sprintf("no build paths in %d files, %s, tree %s%s", info.Files, humanSize(info.Size), info.Digest[:12], kept))
	return nil
}

// stampTrees stamps the files of the finished tree once nothing of the
// build changes them any more (the old tree's removal changes the change
// time of the files it shared): the md5 sums of dist/root for
// gopythongo-package, each with its file's stamp (treesums), and the
// stamps of the cached tree. A tree in place keeps the sums it has. What
// fails costs the next step or build a hash of every file, not its result.
func (b *build) stampTrees() []string {
	if b.tree == nil {
		return nil
	}
	sums := treesums.PathFor(b.res.Root)
	if b.inPlace {
		if _, err := os.Lstat(sums); err == nil {
			return nil
		}
	}
	var did []string
	stamps, err := statTree(b.res.Root, b.tree)
	if err == nil {
		files := make([]treesums.File, 0, len(b.tree))
		for i, e := range b.tree {
			if e.Mode.IsRegular() && e.MD5 != "" && stamps[i] != (stamp{}) {
				files = append(files, treesums.File{Path: e.Path, MD5: e.MD5, Stamp: stamps[i]})
			}
		}
		err = treesums.Write(sums, files)
	}
	if err != nil {
		b.o.Log.Warnf("the md5 sums of the tree were not recorded (gopythongo-package hashes every file): %v", err)
		stamps = nil
	} else {
		did = append(did, "md5 sums recorded")
	}
	if b.stampKey != "" {
		if !b.stampLinked {
			stamps = nil // other files: the cached tree's own are stat-ed
		}
		if err := b.cache.stampTree(b.stampKey, b.tree, stamps); err != nil {
			b.o.Log.Warnf("the cached tree's files were not stamped (the next build hashes them all): %v", err)
		} else {
			did = append(did, "the cached tree's files stamped")
		}
	}
	return did
}

// place moves the finished tree to dist/root, the old one aside, and
// removes the md5 sums of the old one.
func (b *build) place(root string) error {
	if b.inPlace {
		return nil
	}
	if err := treesums.Remove(treesums.PathFor(b.res.Root)); err != nil {
		return err
	}
	old := filepath.Join(b.tmp, "old-root")
	if err := os.Rename(b.res.Root, old); err == nil {
		b.replaced = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("move the old tree aside: %w", err)
	}
	if err := os.Rename(root, b.res.Root); err != nil {
		return fmt.Errorf("move the tree into place: %w", err)
	}
	return nil
}

// restore makes the tree from the tree cache, when a build with the same
// inputs finished it before: nothing is installed, compiled or checked
// again, every file is checked against its hash. A tree that cannot be
// restored is removed and the build goes on without it (restored is false).
func (b *build) restore(key string, rec *treeRecord) (restored bool, err error) {
	ph := b.o.Log.Phase("tree")
	defer ph.End()
	root := filepath.Join(b.tmp, RootDir)
	stamps := rec.stamps
	entries := slices.Clone(rec.Entries)
	for i := range entries {
		entries[i].MTime = b.o.Epoch.UnixNano()
	}
	info := summarize(entries)
	taken := func() {
		b.cache.usedTree(key)
		b.res.TreeCached = true
		b.res.Venv, b.res.Stripped = rec.Venv, rec.Stripped
		b.res.Venv.Digest, b.res.Venv.Root = info.Digest, filepath.ToSlash(filepath.Join(b.c.Project.Dist, RootDir))
		if b.res.Venv.Interpreter.Package == "" {
			b.warnNoPackage()
		}
	}
	// dist/root as the last build left it is the tree already: nothing is
	// linked again (and so nothing stamped again). The builders mount the
	// staging tree for the sdist's backend, so with dists to write the
	// tree is restored there all the same.
	if !(b.c.Venv.Dists && b.c.Venv.Project) && sameTree(b.walkRoot(), rec.Entries, stamps, b.o.Epoch) {
		b.inPlace, b.tree = true, rec.Entries
		taken()
		ph.Done(fmt.Sprintf("from the cache: %s is the cached tree, unchanged (%d files, each the cached file as the last build left it), tree %s (%s)",
			b.res.Venv.Root, info.Files, info.Digest[:12], humanSize(info.Size)))
		return true, nil
	}
	done, err := restoreTree(rec.Entries, filepath.Join(b.cache.treeDir(key), "root"), root, true, b.o.Epoch, stamps, nil)
	if err != nil {
		// A tree that cannot be restored once cannot be restored again:
		// it goes, and this build keeps its own in its place.
		b.o.Log.Warnf("the cached tree %s cannot be used, so the venv is built again: %v", key[:12], err)
		if err := forceRemoveAll(b.cache.treeDir(key)); err != nil {
			return false, fmt.Errorf("remove the unusable cached tree: %w", err)
		}
		if err := forceRemoveAll(root); err != nil {
			return false, err
		}
		return false, os.MkdirAll(b.staging, 0o755)
	}
	taken()
	b.tree, b.stampKey, b.stampLinked = rec.Entries, key, done.copied == 0
	how := "linked"
	if done.copied > 0 {
		how = "copied (the cache is on another file system) or linked"
	}
	checked := "each checked against its sha256"
	if done.hashed < done.files {
		checked = fmt.Sprintf("%d of them unchanged since a build checked them, %d checked against their sha256", done.files-done.hashed, done.hashed)
	}
	ph.Done(fmt.Sprintf("from the cache: %d files %s, %s, tree %s (%s)", info.Files, how, checked, info.Digest[:12], humanSize(info.Size)))
	return true, nil
}

func humanSize(n int64) string { return ui.Size(n) }

// interpreterPackage asks dpkg, in the target environment, which package the
// interpreter comes from: the package the .deb depends on. The -minimal part of
// Debian's interpreters is not enough for a venv; the full one is.
func (b *build) interpreterPackage(ctx context.Context) string {
	var out strings.Builder
	err := b.builder.Run(ctx, Command{Argv: []string{"dpkg-query", "-S", b.interp.Executable}, Env: b.pip.Env, Dir: "/", Stdout: &out, Stderr: io.Discard})
	if err != nil {
		b.warnNoPackage()
		return ""
	}
	pkg, _, _ := strings.Cut(out.String(), ":")
	return strings.TrimSuffix(strings.TrimSpace(pkg), "-minimal")
}

func (b *build) warnNoPackage() {
	b.o.Log.Warnf("%s belongs to no Debian package: gopythongo-package refuses a .deb or .rpm of this venv (it would not run where installed) unless package.deb.python_package / package.rpm.python_package names the package that provides it on the target", b.interp.Executable)
}
