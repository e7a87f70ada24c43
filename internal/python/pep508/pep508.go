// Package pep508 reads PEP 508 dependency specifiers and environment
// markers, and the PEP 440 version specifiers in them. It is apart from
// package python, which every step links, because the PEP 440 library
// compiles its expressions when the program starts: only the steps that
// resolve (build-venv, test) pay for it.
package pep508

import (
	"fmt"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python"
)

// Requirement is a PEP 508 dependency specifier: name[extras] specifier ; marker.
type Requirement struct {
	Name      string // normalized (PEP 503)
	Extras    []string
	Specifier Specifier
	URL       string // name @ url
	Marker    *Marker
	Text      string // as written
}

var requirementRE = lazy.Regexp(`^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$`)

// ParseRequirement reads a PEP 508 requirement.
func ParseRequirement(s string) (Requirement, error) {
	body, marker, hasMarker := cutMarker(s)
	m := requirementRE().FindStringSubmatch(body)
	if m == nil {
		return Requirement{}, fmt.Errorf("%q is not a PEP 508 requirement (name[extras] specifier ; marker)", s)
	}
	r := Requirement{Name: python.Normalize(m[1]), Text: strings.TrimSpace(s)}
	for _, e := range strings.Split(m[2], ",") {
		if e = strings.TrimSpace(e); e != "" {
			r.Extras = append(r.Extras, python.Normalize(e))
		}
	}
	rest := strings.TrimSpace(m[3])
	switch {
	case strings.HasPrefix(rest, "@"):
		r.URL = strings.TrimSpace(rest[1:])
	default:
		rest = strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")")
		spec, err := ParseSpecifier(rest)
		if err != nil {
			return Requirement{}, fmt.Errorf("requirement %q: %w", s, err)
		}
		r.Specifier = spec
	}
	if hasMarker {
		mk, err := ParseMarker(marker)
		if err != nil {
			return Requirement{}, fmt.Errorf("requirement %q: %w", s, err)
		}
		r.Marker = &mk
	}
	return r, nil
}

// cutMarker splits a requirement at its marker's ";" (an URL may hold one
// only when followed by a space, PEP 508).
func cutMarker(s string) (body, marker string, ok bool) {
	if strings.Contains(s, "@") {
		if i := strings.Index(s, " ;"); i >= 0 {
			return s[:i], s[i+2:], true
		}
		return s, "", false
	}
	return strings.Cut(s, ";")
}

// Applies reports whether the requirement's marker holds in env (true
// without a marker).
func (r Requirement) Applies(env python.Environment) (bool, error) {
	if r.Marker == nil {
		return true, nil
	}
	return r.Marker.Eval(env)
}

// Specifier is a PEP 440 version specifier set (">=1.2,<2"); the empty set
// takes every version.
type Specifier struct {
	text    string
	set     *pep440.Specifiers
	clauses []specClause
}

// specClause is one "<V" or ">V" of the set, for PEP 440's exclusive rules.
type specClause struct {
	op string
	v  pep440.Version
}

var specClauseRE = lazy.Regexp(`^\s*(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9_.!+*-]+)\s*$`)

// ParseSpecifier reads a comma-separated specifier set.
func ParseSpecifier(s string) (Specifier, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Specifier{}, nil
	}
	var clauses []specClause
	for _, clause := range strings.Split(s, ",") {
		m := specClauseRE().FindStringSubmatch(clause)
		if m == nil {
			return Specifier{}, fmt.Errorf("%q is not a PEP 440 version specifier (e.g. >=1.2,<2)", clause)
		}
		if m[1] == "<" || m[1] == ">" {
			v, err := pep440.Parse(m[2])
			if err != nil {
				return Specifier{}, fmt.Errorf("%q is not a PEP 440 version specifier: %w", clause, err)
			}
			clauses = append(clauses, specClause{m[1], v})
		}
	}
	set, err := pep440.NewSpecifiers(s, pep440.WithPreRelease(true))
	if err != nil {
		return Specifier{}, fmt.Errorf("%q is not a PEP 440 version specifier: %w", s, err)
	}
	return Specifier{text: s, set: &set, clauses: clauses}, nil
}

func (s Specifier) String() string { return s.text }

// Contains reports whether a version satisfies the set, pre-releases
// included: a locked or installed version is checked, not chosen.
func (s Specifier) Contains(version string) bool {
	if s.set == nil {
		return true
	}
	v, err := pep440.Parse(version)
	if err != nil {
		return false
	}
	// PEP 440: <V takes no pre-release of V itself, >V no post-release or
	// local version of V, unless V is one.
	for _, c := range s.clauses {
		sameBase := sameRelease(v, c.v)
		if c.op == "<" && sameBase && v.IsPreRelease() && !c.v.IsPreRelease() {
			return false
		}
		if c.op == ">" && sameBase && (v.IsPostRelease() && !c.v.IsPostRelease() || v.Local() != "") {
			return false
		}
	}
	return s.set.Check(v)
}

// sameRelease compares base versions as versions (1 is 1.0.0).
func sameRelease(a, b pep440.Version) bool {
	x, err1 := pep440.Parse(a.BaseVersion())
	y, err2 := pep440.Parse(b.BaseVersion())
	return err1 == nil && err2 == nil && x.Equal(y)
}

// markerVars are the variables PEP 508 defines.
var markerVars = map[string]bool{"os_name": true, "sys_platform": true, "platform_machine": true, "platform_python_implementation": true,
	"platform_release": true, "platform_system": true, "platform_version": true, "python_version": true, "python_full_version": true,
	"implementation_name": true, "implementation_version": true, "extra": true, "os.name": true, "sys.platform": true,
	"platform.version": true, "platform.machine": true, "platform.python_implementation": true, "python_implementation": true,
	"extras": true, "dependency_groups": true}

// Marker is a parsed PEP 508 environment marker.
type Marker struct {
	text string
	root markerNode
}

func (m Marker) String() string { return m.text }

type markerNode interface {
	eval(env python.Environment) (bool, error)
}

type markerOr struct{ l, r markerNode }
type markerAnd struct{ l, r markerNode }
type markerCmp struct {
	lhs, rhs       markerValue
	op             string
	lhsVar, rhsVar bool
}
type markerValue struct {
	s     string
	isVar bool
}

func (n markerOr) eval(env python.Environment) (bool, error) {
	a, err := n.l.eval(env)
	if err != nil || a {
		return a, err
	}
	return n.r.eval(env)
}

func (n markerAnd) eval(env python.Environment) (bool, error) {
	a, err := n.l.eval(env)
	if err != nil || !a {
		return a, err
	}
	return n.r.eval(env)
}

func (v markerValue) value(env python.Environment) string {
	if !v.isVar {
		return v.s
	}
	name := strings.ReplaceAll(v.s, ".", "_")
	if name == "python_implementation" {
		name = "platform_python_implementation"
	}
	return env[name]
}

func (n markerCmp) eval(env python.Environment) (bool, error) {
	l, r := n.lhs.value(env), n.rhs.value(env)
	// extra (and the PEP 751 sets) compare normalized names.
	if n.lhs.isVar && n.lhs.s == "extra" || n.rhs.isVar && n.rhs.s == "extra" {
		l, r = python.Normalize(l), python.Normalize(r)
	}
	if (n.lhs.isVar && (n.lhs.s == "extras" || n.lhs.s == "dependency_groups")) || (n.rhs.isVar && (n.rhs.s == "extras" || n.rhs.s == "dependency_groups")) {
		set := r
		item := python.Normalize(l)
		if n.lhs.isVar {
			set, item = l, python.Normalize(r)
		}
		found := false
		for _, e := range strings.Split(set, ",") {
			if e != "" && python.Normalize(e) == item {
				found = true
			}
		}
		switch n.op {
		case "in":
			return found, nil
		case "not in":
			return !found, nil
		}
		return false, fmt.Errorf("marker %q: %s compares sets with in or not in only", n.op, n.lhs.s)
	}
	switch n.op {
	case "in":
		return strings.Contains(r, l), nil
	case "not in":
		return !strings.Contains(r, l), nil
	}
	// As packaging: a version comparison when the right side is a version
	// the operator takes, else a string comparison.
	if spec, err := ParseSpecifier(n.op + r); err == nil {
		if _, err := pep440.Parse(l); err == nil {
			return spec.Contains(l), nil
		}
	}
	switch n.op {
	case "==":
		return l == r, nil
	case "!=":
		return l != r, nil
	case "<":
		return l < r, nil
	case "<=":
		return l <= r, nil
	case ">":
		return l > r, nil
	case ">=":
		return l >= r, nil
	}
	return false, fmt.Errorf("%q %s %q compares no versions, and %s has no meaning for strings", l, n.op, r, n.op)
}

// ParseMarker reads a PEP 508 marker expression.
func ParseMarker(s string) (Marker, error) {
	p := &markerParser{toks: tokenizeMarker(s), text: s}
	if p.toks == nil {
		return Marker{}, fmt.Errorf("marker %q: cannot be read (an unclosed quote?)", s)
	}
	n, err := p.or()
	if err != nil {
		return Marker{}, fmt.Errorf("marker %q: %w", s, err)
	}
	if p.i != len(p.toks) {
		return Marker{}, fmt.Errorf("marker %q: unexpected %q", s, p.toks[p.i])
	}
	return Marker{text: strings.TrimSpace(s), root: n}, nil
}

// Eval evaluates the marker in env.
func (m Marker) Eval(env python.Environment) (bool, error) {
	if m.root == nil {
		return true, nil
	}
	ok, err := m.root.eval(env)
	if err != nil {
		return false, fmt.Errorf("marker %q: %w", m.text, err)
	}
	return ok, nil
}

var markerTokRE = lazy.Regexp(`\s*(\(|\)|'[^']*'|"[^"]*"|===|==|!=|<=|>=|~=|<|>|not\s+in\b|[A-Za-z_][A-Za-z0-9_.]*)`)

func tokenizeMarker(s string) []string {
	var out []string
	rest := s
	for strings.TrimSpace(rest) != "" {
		m := markerTokRE().FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil
		}
		out = append(out, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	if out == nil {
		out = []string{}
	}
	return out
}

type markerParser struct {
	toks []string
	i    int
	text string
}

func (p *markerParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *markerParser) or() (markerNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek() == "or" {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = markerOr{l, r}
	}
	return l, nil
}

func (p *markerParser) and() (markerNode, error) {
	l, err := p.atom()
	if err != nil {
		return nil, err
	}
	for p.peek() == "and" {
		p.i++
		r, err := p.atom()
		if err != nil {
			return nil, err
		}
		l = markerAnd{l, r}
	}
	return l, nil
}

func (p *markerParser) atom() (markerNode, error) {
	if p.peek() == "(" {
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("a ( is not closed")
		}
		p.i++
		return n, nil
	}
	lhs, err := p.value()
	if err != nil {
		return nil, err
	}
	op := p.peek()
	switch {
	case op == "in" || op == "==" || op == "!=" || op == "<=" || op == ">=" || op == "<" || op == ">" || op == "~=" || op == "===":
	case strings.HasPrefix(op, "not") && strings.HasSuffix(op, "in"):
		op = "not in"
	default:
		return nil, fmt.Errorf("expected a comparison after %q, found %q", lhs.s, op)
	}
	p.i++
	rhs, err := p.value()
	if err != nil {
		return nil, err
	}
	if lhs.isVar == rhs.isVar {
		return nil, fmt.Errorf("a comparison needs one variable and one quoted string (%s %s %s)", lhs.s, op, rhs.s)
	}
	return markerCmp{lhs: lhs, rhs: rhs, op: op}, nil
}

func (p *markerParser) value() (markerValue, error) {
	t := p.peek()
	if t == "" {
		return markerValue{}, fmt.Errorf("ends too early")
	}
	p.i++
	if t[0] == '\'' || t[0] == '"' {
		return markerValue{s: t[1 : len(t)-1]}, nil
	}
	if !markerVars[t] {
		return markerValue{}, fmt.Errorf("%q is no marker variable (python_version, sys_platform, extra, …)", t)
	}
	return markerValue{s: t, isVar: true}, nil
}
