package ci

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/state"
)

// Level is the severity of an annotation.
type Level string

// Annotation levels.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNotice  Level = "notice"
)

// Annotation points at a place in a file, where the CI can show it.
type Annotation struct {
	Level   Level
	File    string
	Line    int
	Title   string
	Message string
}

// Reporter hands a step's results to the CI it runs in.
type Reporter interface {
	// Output records a named result, e.g. semver=1.2.3. Names are lowercase with
	// underscores; in environment-style files they become GOPYTHONGO_<NAME>.
	Output(name, value string)
	// Mask hides a secret in the CI's log.
	Mask(secret string)
	// Summary adds Markdown to the job's summary page.
	Summary(markdown string)
	// Annotate shows a message at a file and line.
	Annotate(a Annotation)
	// Group folds the log lines until the returned function is called.
	Group(title string) (end func())
	// Close writes what is kept in files (properties, dotenv, BASH_ENV).
	Close() error
}

// NewReporter returns the reporter for a provider. Files that outlive the step
// (Jenkins properties, GitLab dotenv) go into dist. Log lines, and GitHub's
// workflow commands (the runner reads them from stderr as well as stdout), go to
// log, so that stdout carries nothing but the step's results. The one
// exception is TeamCity, which reads service messages from stdout only: they
// go to out.
func NewReporter(p Provider, lookup Lookup, dist string, log, out io.Writer) Reporter {
	get := func(k string) string { v, _ := lookup(k); return v }
	base := &fileReporter{log: log, out: out}
	switch p {
	case GitHub:
		return &githubReporter{
			fileReporter: base,
			action:       workflow{w: log, getenv: get},
			getenv:       get,
		}
	case Jenkins:
		base.path, base.style = filepath.Join(dist, "gopythongo.properties"), styleProperties
	case GitLab:
		base.path, base.style = filepath.Join(dist, "gopythongo.env"), styleDotenv
	case CircleCI:
		base.path, base.style = get("BASH_ENV"), styleExport
		if base.path == "" {
			base.missing = "BASH_ENV is not set; outputs are not exported to later steps"
		}
	case Azure:
		base.style = styleAzure
	case TeamCity:
		base.style = styleTeamCity
	case Buildkite:
		base.style = styleBuildkite
	case Bitbucket, Travis, Woodpecker, Drone:
		// No convention of their own: a dotenv in dist, which a pipeline
		// passes on as an artifact.
		base.path, base.style = filepath.Join(dist, "gopythongo.env"), styleDotenv
	}
	return base
}

// EnvName is the variable name of an output in environment-style files.
func EnvName(output string) string { return "GOPYTHONGO_" + strings.ToUpper(output) }

type fileStyle int

const (
	styleNone fileStyle = iota
	styleProperties
	styleDotenv
	styleExport
	styleAzure     // ##vso[task.setvariable] logging commands
	styleTeamCity  // ##teamcity[setParameter] service messages
	styleBuildkite // buildkite-agent meta-data set
)

// fileReporter serves Jenkins, GitLab, CircleCI and local runs: outputs are
// written to a file at Close, annotations and summaries to the log.
type fileReporter struct {
	log     io.Writer
	out     io.Writer
	path    string
	style   fileStyle
	missing string
	names   []string
	values  map[string]string
}

func (r *fileReporter) Output(name, value string) {
	if r.values == nil {
		r.values = map[string]string{}
	}
	if _, ok := r.values[name]; !ok {
		r.names = append(r.names, name)
	}
	r.values[name] = value
}

func (r *fileReporter) Mask(string) {}

func (r *fileReporter) Summary(string) {}

func (r *fileReporter) Annotate(a Annotation) {
	where := a.File
	if where != "" && a.Line > 0 {
		where = fmt.Sprintf("%s:%d", a.File, a.Line)
	}
	msg := a.Message
	if a.Title != "" {
		msg = a.Title + ": " + msg
	}
	fmt.Fprintln(r.log, joinNonEmpty(": ", where, string(a.Level), msg))
}

func (r *fileReporter) Group(title string) func() { return func() {} }

func (r *fileReporter) Close() error {
	if r.style == styleNone || len(r.names) == 0 {
		return nil
	}
	if r.missing != "" {
		fmt.Fprintln(r.log, "warning: "+r.missing)
		return nil
	}
	switch r.style {
	case styleAzure:
		// Once for the job's later steps ($GOPYTHONGO_X), once as an output
		// of the step for later jobs.
		for _, n := range r.names {
			v := azureEscape(r.values[n])
			fmt.Fprintf(r.log, "##vso[task.setvariable variable=%s]%s\n", EnvName(n), v)
			fmt.Fprintf(r.log, "##vso[task.setvariable variable=%s;isOutput=true]%s\n", EnvName(n), v)
		}
		return nil
	case styleTeamCity:
		if r.out == nil {
			return nil
		}
		for _, n := range r.names {
			fmt.Fprintf(r.out, "##teamcity[setParameter name='env.%s' value='%s']\n", EnvName(n), teamcityEscape(r.values[n]))
		}
		return nil
	case styleBuildkite:
		agent, err := exec.LookPath("buildkite-agent")
		if err != nil {
			fmt.Fprintln(r.log, "warning: buildkite-agent is not on PATH; outputs are not stored as meta-data")
			return nil
		}
		for _, n := range r.names {
			// An argv, never a shell: values go through as they are.
			if out, err := exec.Command(agent, "meta-data", "set", EnvName(n), r.values[n]).CombinedOutput(); err != nil {
				return fmt.Errorf("buildkite-agent meta-data set %s: %w: %s", EnvName(n), err, bytes.TrimSpace(out))
			}
		}
		return nil
	}
	// The files hold one line a value.
	for _, n := range r.names {
		if strings.ContainsAny(r.values[n], "\r\n") {
			return fmt.Errorf("output %s has a line break, which %s cannot hold", n, r.path)
		}
	}
	switch r.style {
	case styleExport:
		// BASH_ENV is sourced by every later step: append shell-quoted exports.
		var b strings.Builder
		for _, n := range r.names {
			fmt.Fprintf(&b, "export %s=%s\n", EnvName(n), shellQuote(r.values[n]))
		}
		f, err := os.OpenFile(r.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("write outputs to BASH_ENV: %w", err)
		}
		if _, err := f.WriteString(b.String()); err != nil {
			f.Close()
			return fmt.Errorf("write outputs to BASH_ENV: %w", err)
		}
		return f.Close()
	default:
		return r.mergeFile()
	}
}

// azureEscape escapes a logging command's value as the agent unescapes it.
func azureEscape(v string) string {
	return strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A").Replace(v)
}

// teamcityEscape escapes a service message value.
func teamcityEscape(v string) string {
	return strings.NewReplacer("|", "||", "'", "|'", "\n", "|n", "\r", "|r", "[", "|[", "]", "|]", "\u0085", "|x", "\u2028", "|l", "\u2029", "|p").Replace(v)
}

// mergeFile updates a KEY=VALUE file that earlier steps may have written.
func (r *fileReporter) mergeFile() error {
	values := map[string]string{}
	var order []string
	if data, err := os.ReadFile(r.path); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := sc.Text()
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				if r.style == styleProperties {
					v = unescapeProperty(v)
				}
				values[k] = v
				order = append(order, k)
			}
		}
	}
	for _, n := range r.names {
		k := EnvName(n)
		if _, ok := values[k]; !ok {
			order = append(order, k)
		}
		values[k] = r.values[n]
	}
	var b strings.Builder
	for _, k := range order {
		v := values[k]
		if r.style == styleProperties {
			v = escapeProperty(v)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return state.WriteFileAtomic(r.path, []byte(b.String()), 0o644)
}

// escapeProperty writes a value the way java.util.Properties reads it back.
func escapeProperty(v string) string {
	var b strings.Builder
	for i, c := range v {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == ' ' && i == 0:
			b.WriteString(`\ `)
		case c == '=' || c == ':' || c == '#' || c == '!':
			b.WriteString(`\` + string(c))
		case c > 0x7e:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func unescapeProperty(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			if v[i] == 'u' && i+4 < len(v) {
				var r rune
				if _, err := fmt.Sscanf(v[i+1:i+5], "%04x", &r); err == nil {
					b.WriteRune(r)
					i += 4
					continue
				}
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

var shellSafe = lazy.Regexp(`^[A-Za-z0-9_.,:/@%+=-]+$`)

func shellQuote(s string) string {
	if shellSafe().MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// githubReporter speaks GitHub's workflow commands and environment files. A
// file command whose variable is unset is left out with a warning; the first
// write that fails is what Close returns.
type githubReporter struct {
	*fileReporter
	action workflow
	getenv func(string) string
	warned []string
	err    error
}

func (r *githubReporter) has(file string) bool {
	if r.getenv(file) != "" {
		return true
	}
	if !slices.Contains(r.warned, file) {
		r.warned = append(r.warned, file)
		fmt.Fprintf(r.log, "warning: %s is not set; GitHub will not see these results\n", file)
	}
	return false
}

// keep remembers the first error, for Close.
func (r *githubReporter) keep(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

func (r *githubReporter) Output(name, value string) {
	if r.has("GITHUB_OUTPUT") {
		r.keep(r.action.setValue("GITHUB_OUTPUT", name, value))
	}
	if r.has("GITHUB_ENV") {
		r.keep(r.action.setValue("GITHUB_ENV", EnvName(name), value))
	}
}

// Mask masks a secret; GitHub masks a multi-line value only line by line.
func (r *githubReporter) Mask(secret string) {
	for _, l := range strings.Split(secret, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			r.keep(r.action.command("add-mask", nil, l))
		}
	}
}

func (r *githubReporter) Summary(markdown string) {
	if r.has("GITHUB_STEP_SUMMARY") {
		r.keep(r.action.appendFile("GITHUB_STEP_SUMMARY", markdown+"\n"))
	}
}

func (r *githubReporter) Annotate(a Annotation) {
	fields := map[string]string{}
	if a.File != "" {
		fields["file"] = a.File
		if a.Line > 0 {
			fields["line"] = fmt.Sprint(a.Line)
		}
	}
	if a.Title != "" {
		fields["title"] = a.Title
	}
	level := "notice"
	switch a.Level {
	case LevelError:
		level = "error"
	case LevelWarning:
		level = "warning"
	}
	r.keep(r.action.command(level, fields, a.Message))
}

func (r *githubReporter) Group(title string) func() {
	r.keep(r.action.command("group", nil, title))
	return func() { r.keep(r.action.command("endgroup", nil, "")) }
}

func (r *githubReporter) Close() error { return r.err }

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
