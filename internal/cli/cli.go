// Package cli is what every step binary shares: flags, configuration loading,
// --print-config, the CI environment and reporter, exit codes and --help.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/gitread"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/ui"
)

// Exit codes shared by all steps.
const (
	ExitOK = 0
	// ExitFailure: the step ran and failed.
	ExitFailure = 1
	// ExitUsage: bad flags or configuration.
	ExitUsage = 2
	// ExitHistory: the clone lacks history or tags (gopythongo-version).
	ExitHistory = 3
)

// ExitError carries an exit code with an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// KeyFlag exposes a configuration key as a flag of a step.
type KeyFlag struct {
	Flag string // without dashes
	Path string // configuration key
}

// Step describes a step binary.
type Step struct {
	Name    string
	Summary string
	// Help is the body of --help after the usage line: what the step does,
	// its exit codes and examples.
	Help string
	// Keys are configuration keys offered as flags.
	Keys []KeyFlag
	// Flags adds the step's own flags.
	Flags func(fs *flag.FlagSet)
	// Run does the work.
	Run func(ctx context.Context, s *Session) error
	// Section is the configuration section the step reads (version, venv, …).
	Section string
	// Outputs are the results the step reports to the CI and prints as
	// name=value lines.
	Outputs []Output
	// Checks are the implementations' rules of the configuration (stores,
	// builders), run when it is loaded.
	Checks []config.Check
	// Before runs after the flags are parsed and before the configuration is
	// read (there may be none yet: gopythongo-version --init); ran says it
	// did the step's work, and the step ends there.
	Before func(ctx context.Context, stdout, stderr io.Writer) (ran bool, err error)
	// Check is --check: what the step would need of this machine, the
	// state file and the stores, checked without doing the work.
	Check func(ctx context.Context, s *Session) []check.Finding
}

// Output is one result of a step.
type Output struct {
	Name, Doc string
}

// Session is what a step's Run gets.
type Session struct {
	Config   *config.Config
	Env      ci.Env
	Reporter ci.Reporter
	Log      *ui.Log
	Stdout   io.Writer
	Lookup   ci.Lookup
	// Force lets a step use a state file made for another commit.
	Force bool

	commit *state.Commit // read once, by Commit
}

// Main runs a step and returns its exit code.
func Main(step Step, args []string, stdout, stderr io.Writer, lookup ci.Lookup, environ []string) int {
	fs := flag.NewFlagSet(step.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var overrides []config.Override
	configFile := fs.String("config", "", "configuration file (default .gopythongo.yaml in the working directory)")
	printConfig := fs.Bool("print-config", false, "print each effective configuration value and where it came from, then exit")
	force := fs.Bool("force", false, "use a state file made for another commit than the one being built")
	showVersion := fs.Bool("version", false, "print which GoPythonGo this is (version, commit, Go) and exit")
	checkOnly := fs.Bool("check", false, "check the configuration, this machine, the state file and the credentials for what this step would do, print every finding, and exit: 0 ready, 2 problems")
	fs.Func("set", "set any configuration key, e.g. --set venv.no_index=true (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("--set takes KEY=VALUE, got %q", s)
		}
		overrides = append(overrides, config.Override{Path: k, Value: v, Flag: "--set " + s})
		return nil
	})
	fs.Func("dist", "the dist directory (project.dist)", func(s string) error {
		overrides = append(overrides, config.Override{Path: "project.dist", Value: s, Flag: "--dist"})
		return nil
	})
	for _, kf := range step.Keys {
		fs.Var(&keyValue{KeyFlag: kf, overrides: &overrides}, kf.Flag, "")
	}
	if step.Flags != nil {
		step.Flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, step, fs)
			return ExitOK
		}
		fmt.Fprintf(stderr, "%s: %s\nRun %s --help for the flags.\n", step.Name, flagError(err, fs), step.Name)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q; this step takes flags only (see --help)\n", step.Name, fs.Arg(0))
		return ExitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, VersionLine(step.Name))
		return ExitOK
	}

	if step.Before != nil {
		ctx, stop := interruptible()
		ran, err := step.Before(ctx, stdout, stderr)
		stop()
		if err != nil {
			code := ExitFailure
			var ee *ExitError
			if errors.As(err, &ee) {
				code = ee.Code
			}
			if errors.As(err, new(*config.Error)) {
				code = ExitUsage
			}
			fmt.Fprintf(stderr, "%s: error: %v\n", step.Name, err)
			return code
		}
		if ran {
			return ExitOK
		}
	}
	cfg, err := config.Load(config.Options{File: *configFile, Environ: environ, Overrides: overrides, Checks: step.Checks})
	if *checkOnly && err != nil {
		return printCheck(stdout, stderr, step.Name, configFindings(err))
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: configuration:\n%s\n", step.Name, indent(err.Error()))
		return ExitUsage
	}
	if *printConfig {
		if err := cfg.Print(stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", step.Name, err)
			return ExitFailure
		}
		return ExitOK
	}

	env := ci.Detect(lookup, os.ReadFile)
	rep := ci.NewReporter(env.Provider, lookup, cfg.DistDir(), stderr, stdout)
	group := rep.Group
	if env.Provider != ci.GitHub {
		group = nil
	}
	log := ui.New(stderr, step.Name, group)
	if f, ok := stderr.(*os.File); ok && IsTerminal(f) {
		if term, _ := lookup("TERM"); term != "dumb" {
			noColor, _ := lookup("NO_COLOR") // https://no-color.org: set and not empty
			log.Terminal(noColor == "")
		}
	}
	for _, w := range cfg.Warnings {
		log.Warnf("%s", w)
	}
	ctx, stop := interruptible()
	defer stop()
	s := &Session{Config: cfg, Env: env, Reporter: rep, Log: log, Stdout: stdout, Lookup: lookup, Force: *force}
	if *checkOnly {
		fs := commonFindings(s)
		if step.Check != nil {
			fs = append(fs, step.Check(ctx, s)...)
		}
		return printCheck(stdout, stderr, step.Name, fs)
	}
	err = step.Run(ctx, s)
	if cerr := rep.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return ExitOK
	}
	var sig interrupted
	if errors.As(context.Cause(ctx), &sig) {
		// The step stopped its commands and removed what it had begun.
		fmt.Fprintf(stderr, "%s: interrupted by %s: stopped, nothing half-written is left\n", step.Name, sig.Signal)
		return 128 + int(sig.Signal.(syscall.Signal))
	}
	code := ExitFailure
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		code = ExitUsage
		if ce.Origin.Kind == config.OriginFile {
			rep.Annotate(ci.Annotation{Level: ci.LevelError, File: ce.Origin.File, Line: ce.Origin.Line, Title: step.Name, Message: ce.Msg})
		}
	}
	fmt.Fprintf(stderr, "%s: %s %v\n", step.Name, log.Error(), err)
	return code
}

// configFindings are the problems of a configuration that does not load,
// one finding each; the rest is checked once it does.
func configFindings(err error) []check.Finding {
	var fs []check.Finding
	var add func(error)
	add = func(e error) { // the loader joins the file's errors, then joins those with the rest
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				add(e)
			}
			return
		}
		fs = append(fs, check.Bad("configuration", e))
	}
	add(err)
	return append(fs, check.Notef("environment", "checked once the configuration loads"))
}

// commonFindings are what every step's check holds: the configuration that
// was read, its warnings, the CI, and the dist directory.
func commonFindings(s *Session) []check.Finding {
	c := s.Config
	file := "no " + config.DefaultFile + ": the defaults, the environment and flags"
	if c.File != "" {
		file = c.File
	}
	fs := []check.Finding{check.Good("configuration", "%s", file)}
	for _, w := range c.Warnings {
		fs = append(fs, check.Notef("configuration", "%s", w))
	}
	if s.Env.Provider != "" && s.Env.Provider != ci.Local {
		fs = append(fs, check.Good("ci", "%s", s.Env.Provider))
	} else {
		fs = append(fs, check.Notef("ci", "none recognised: the branch, tag and commit come from git"))
	}
	return append(fs, check.Writable("project.dist", c.DistDir()))
}

// printCheck prints the findings and says what they come to: exit 0 when
// nothing is wrong, 2 on a problem.
func printCheck(stdout, stderr io.Writer, name string, fs []check.Finding) int {
	if err := check.Print(stdout, fs); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitFailure
	}
	switch n := check.Problems(fs); n {
	case 0:
		fmt.Fprintf(stderr, "%s: ready: %d checks, no problem\n", name, len(fs))
		return ExitOK
	case 1:
		fmt.Fprintf(stderr, "%s: 1 problem (marked PROBLEM above); fix it and run --check again\n", name)
	default:
		fmt.Fprintf(stderr, "%s: %d problems (marked PROBLEM above); fix them and run --check again\n", name, n)
	}
	return ExitUsage
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// keyValue is a flag that sets a configuration key. The key's type and
// documentation come from the key table, a walk of the Config type by
// reflection, which is read only when the flag is given or --help shows it:
// at every start it was a twentieth of gopythongo-version at a tag.
type keyValue struct {
	KeyFlag
	overrides *[]config.Override
}

func (v *keyValue) String() string { return "" }

func (v *keyValue) Set(s string) error {
	*v.overrides = append(*v.overrides, config.Override{Path: v.Path, Value: s, Flag: "--" + v.Flag})
	return nil
}

// IsBoolFlag lets a boolean key's flag stand alone (--fetch).
func (v *keyValue) IsBoolFlag() bool {
	k, _ := config.LookupKey(v.Path)
	return k.TypeName() == "boolean"
}

// flagError is the flag package's error with flags spelt as this tool spells
// them (--name, where the package writes -name), and for an unknown flag
// the known one it most likely means.
func flagError(err error, fs *flag.FlagSet) string {
	msg := err.Error()
	name, unknown := strings.CutPrefix(msg, "flag provided but not defined: ")
	if unknown {
		name = strings.TrimLeft(name, "-")
		msg = fmt.Sprintf("unknown flag --%s", name)
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		best := config.Suggest(name, names)
		if best != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", best)
		}
		return msg
	}
	for _, prefix := range []string{"flag needs an argument: -", " for flag -", " for -"} {
		msg = strings.Replace(msg, prefix, prefix+"-", 1)
	}
	return msg
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// firstSentence is s up to its first full stop, which an abbreviation's
// (e.g., i.e., etc.) is not.
func firstSentence(s string) string {
	for from := 0; ; {
		i := strings.Index(s[from:], ". ")
		if i < 0 {
			return strings.TrimSuffix(s, ".")
		}
		end := from + i
		word := s[strings.LastIndexAny(s[:end], " (")+1 : end]
		if end > 0 && !slices.Contains([]string{"e.g", "i.e", "etc", "vs", "cf"}, strings.ToLower(word)) {
			return s[:end]
		}
		from = end + 2
	}
}

func printHelp(w io.Writer, step Step, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s: %s\n\nUsage: %s [flags]\n\n%s\n\nFlags:\n", step.Name, step.Summary, step.Name, strings.TrimSpace(step.Help))
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		arg := " VALUE"
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			arg = ""
		}
		usage := f.Usage
		if kv, ok := f.Value.(*keyValue); ok {
			k, _ := config.LookupKey(kv.Path)
			usage = fmt.Sprintf("%s (%s)", firstSentence(k.Doc), kv.Path)
		}
		fmt.Fprintf(w, "  --%s%s\n      %s\n", n, arg, usage)
	}
	if len(step.Outputs) > 0 {
		fmt.Fprintf(w, "\nOutputs (name=value lines on stdout, and to the CI: GITHUB_OUTPUT, Jenkins properties,\nGitLab dotenv, CircleCI BASH_ENV as GOPYTHONGO_<NAME>):\n")
		for _, o := range step.Outputs {
			fmt.Fprintf(w, "  %-14s %s\n", o.Name, o.Doc)
		}
	}
	fmt.Fprintf(w, `
Configuration comes from .gopythongo.yaml, GOPYTHONGO_<SECTION>_<KEY> variables and
flags, in rising order; --print-config shows each value's origin, and docs/config.md
lists every key.
`)
}

// Fail wraps err with an exit code.
func Fail(code int, err error) error { return &ExitError{Code: code, Err: err} }

// Commit is the commit being built: the CI's sha, else HEAD, with HEAD's
// commit time when the sha is HEAD's. Git is read once per run.
func (s *Session) Commit() state.Commit {
	if s.commit != nil {
		return *s.commit
	}
	c := state.Commit{SHA: s.Env.SHA}
	if r, err := gitread.Open(s.Config.Dir); err == nil {
		if h, _, err := r.Head(); err == nil && (c.SHA == "" || c.SHA == h.String()) {
			c.SHA = h.String()
			if hc, err := r.Commit(h); err == nil {
				c.Time = hc.Time
			}
		}
		r.Close()
	}
	s.commit = &c
	return c
}

// LoadState reads the state file of the dist directory and refuses one made for
// another commit than the one being built, unless --force.
func (s *Session) LoadState() (*state.State, error) {
	st, err := state.Load(s.Config.DistDir())
	if err != nil {
		return nil, config.Usage(err)
	}
	if err := st.CheckCommit(s.Commit().SHA, s.Force); err != nil {
		return nil, config.Usage(err)
	}
	return st, nil
}

// Begin is every step's prologue after the version: the state file (see
// LoadState) and SOURCE_DATE_EPOCH, from the environment or the commit.
func (s *Session) Begin() (*state.State, time.Time, error) {
	st, err := s.LoadState()
	if err != nil {
		return nil, time.Time{}, err
	}
	epoch, err := st.SourceDateEpoch(s.Getenv)
	if err != nil {
		return nil, time.Time{}, config.Usage(err)
	}
	return st, epoch, nil
}

// Value is one output of a run.
type Value struct{ Name, Value string }

// Outcome is what a run hands back: the state file to save, its outputs and
// the Markdown of the CI's job summary.
type Outcome struct {
	State   *state.State // nil: the step keeps no state
	Outputs []Value
	Summary string // "": none
	// Print writes the outputs to stdout; nil: one name=value line each.
	Print func(w io.Writer, outputs []Value) error
}

// Finish is every step's epilogue: the state file saved first, then each
// output to stdout and to the CI, then the summary.
func (s *Session) Finish(o Outcome) error {
	if o.State != nil {
		if err := o.State.Save(s.Config.DistDir()); err != nil {
			return err
		}
	}
	print := o.Print
	if print == nil {
		print = func(w io.Writer, outputs []Value) error {
			for _, v := range outputs {
				if _, err := fmt.Fprintf(w, "%s=%s\n", v.Name, v.Value); err != nil {
					return err
				}
			}
			return nil
		}
	}
	// One write for all of them, not one a line.
	w := bufio.NewWriter(s.Stdout)
	err := print(w, o.Outputs)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("write the outputs: %w", err)
	}
	for _, v := range o.Outputs {
		s.Reporter.Output(v.Name, v.Value)
	}
	if o.Summary != "" {
		s.Reporter.Summary(o.Summary)
	}
	return nil
}

// Getenv reads the environment the step was given.
func (s *Session) Getenv(k string) string {
	v, _ := s.Lookup(k)
	return v
}

// Strings is a repeatable string flag.
type Strings []string

func (m *Strings) String() string     { return strings.Join(*m, ",") }
func (m *Strings) Set(v string) error { *m = append(*m, v); return nil }
