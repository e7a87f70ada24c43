// Package testrun runs a project's test suites as their own stage, in a
// throwaway venv, with pytest, unittest or a command of the project's own, and
// reports JUnit XML, counts, and an annotation per failure.
package testrun

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gopythongo/gopythongo/internal/state"
)

// Case is one test's outcome.
type Case struct {
	Name      string  `json:"name"`
	ClassName string  `json:"classname"`
	File      string  `json:"file"`
	Line      int     `json:"line"`
	Time      float64 `json:"time"`
	// Outcome is passed, failed, error or skipped.
	Outcome string `json:"outcome"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

// Counts sums up cases.
type Counts struct {
	Tests, Failures, Errors, Skipped int
	Time                             float64
}

// Passed is what passed.
func (c Counts) Passed() int { return c.Tests - c.Failures - c.Errors - c.Skipped }

// Count sums up cases.
func Count(cases []Case) Counts {
	var c Counts
	for _, k := range cases {
		c.Tests++
		c.Time += k.Time
		switch k.Outcome {
		case "failed":
			c.Failures++
		case "error":
			c.Errors++
		case "skipped":
			c.Skipped++
		}
	}
	return c
}

type xmlSuites struct {
	XMLName xml.Name   `xml:"testsuites"`
	Suites  []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	XMLName  xml.Name   `xml:"testsuite"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Cases    []xmlCase  `xml:"testcase"`
	Suites   []xmlSuite `xml:"testsuite"`
}

type xmlCase struct {
	ClassName string      `xml:"classname,attr"`
	Name      string      `xml:"name,attr"`
	File      string      `xml:"file,attr,omitempty"`
	Line      string      `xml:"line,attr,omitempty"`
	Time      string      `xml:"time,attr"`
	Failure   *xmlProblem `xml:"failure"`
	Error     *xmlProblem `xml:"error"`
	Skipped   *xmlProblem `xml:"skipped"`
}

type xmlProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// maxJUnit bounds a JUnit file read whole.
const maxJUnit = 256 << 20

// ReadJUnit reads JUnit XML as pytest, unittest runners, Maven and most tools
// write it: a testsuites root or a single testsuite.
func ReadJUnit(r io.Reader) ([]Case, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJUnit+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJUnit {
		return nil, fmt.Errorf("the JUnit XML is larger than %d MiB; no test report is that large (split the suite)", maxJUnit>>20)
	}
	var suites xmlSuites
	if err := xml.Unmarshal(data, &suites); err != nil || len(suites.Suites) == 0 {
		var one xmlSuite
		if err := xml.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("not JUnit XML: %w", err)
		}
		suites.Suites = []xmlSuite{one}
	}
	var cases []Case
	var walk func(s []xmlSuite)
	walk = func(ss []xmlSuite) {
		for _, s := range ss {
			for _, x := range s.Cases {
				c := Case{Name: x.Name, ClassName: x.ClassName, File: x.File, Outcome: "passed"}
				c.Line, _ = strconv.Atoi(x.Line)
				c.Time, _ = strconv.ParseFloat(x.Time, 64)
				switch {
				case x.Failure != nil:
					c.Outcome, c.Message, c.Detail = "failed", x.Failure.Message, x.Failure.Text
				case x.Error != nil:
					c.Outcome, c.Message, c.Detail = "error", x.Error.Message, x.Error.Text
				case x.Skipped != nil:
					c.Outcome, c.Message = "skipped", x.Skipped.Message
				}
				cases = append(cases, c)
			}
			walk(s.Suites)
		}
	}
	walk(suites.Suites)
	return cases, nil
}

// WriteJUnit writes cases as one suite, atomically.
func WriteJUnit(path, suite string, cases []Case) error {
	n := Count(cases)
	s := xmlSuite{Name: suite, Tests: n.Tests, Failures: n.Failures, Errors: n.Errors, Skipped: n.Skipped, Time: fmt.Sprintf("%.3f", n.Time)}
	for _, c := range cases {
		x := xmlCase{ClassName: c.ClassName, Name: c.Name, File: c.File, Time: fmt.Sprintf("%.3f", c.Time)}
		if c.Line > 0 {
			x.Line = strconv.Itoa(c.Line)
		}
		p := &xmlProblem{Message: FirstLine(c.Message), Text: c.Detail}
		switch c.Outcome {
		case "failed":
			x.Failure = p
		case "error":
			x.Error = p
		case "skipped":
			x.Skipped = &xmlProblem{Message: c.Message}
		}
		s.Cases = append(s.Cases, x)
	}
	out, err := xml.MarshalIndent(xmlSuites{Suites: []xmlSuite{s}}, "", "  ")
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(path, append([]byte(xml.Header), append(out, '\n')...), 0o644)
}

// FirstLine is a failure message's first line, for annotations and summaries.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func readJUnitFile(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadJUnit(f)
}
