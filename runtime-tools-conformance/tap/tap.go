// Copyright The kiln Authors
// SPDX-License-Identifier: Apache-2.0

// Package tap writes Test Anything Protocol (version 13) streams.
//
// runtime-tools imports "github.com/mndrix/tap-go", which Debian does not
// package, so the conformance runner builds the suite against this package
// instead, placed at that import path in a private GOPATH. It offers the
// calls runtime-tools makes: New, Header, Ok, Pass, Fail, Skip, Todo, Count,
// AutoPlan, Diagnostic, Diagnosticf and YAML, plus the Writer and TODO fields.
package tap

import (
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v2"
)

// T is one TAP stream. Copies made by Todo share its test counter.
type T struct {
	// Writer gets the stream; nil means standard output.
	Writer io.Writer
	// TODO marks every result written through this T as "# TODO".
	TODO bool

	counter *int // number of the next result
}

// New starts a stream at test number 1.
func New() *T {
	first := 1
	return &T{counter: &first}
}

func (t *T) emit(format string, args ...interface{}) {
	w := t.Writer
	if w == nil {
		w = os.Stdout
	}
	fmt.Fprintf(w, format, args...)
}

// ready gives a zero T (not made by New) its counter.
func (t *T) ready() {
	if t.counter == nil {
		t.counter = new(int)
		*t.counter = 1
	}
}

// take returns the number of the next result and advances the counter.
func (t *T) take() int {
	t.ready()
	n := *t.counter
	*t.counter++
	return n
}

// flat keeps a description on its result line: TAP is line based.
func flat(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Header writes the version line, and the plan when planned > 0 (use
// AutoPlan at the end when the count is not known up front).
func (t *T) Header(planned int) {
	t.emit("TAP version 13\n")
	if planned > 0 {
		t.emit("1..%d\n", planned)
	}
}

// Ok records one result: "ok" when passed, else "not ok".
func (t *T) Ok(passed bool, description string) {
	word := "not ok"
	if passed {
		word = "ok"
	}
	n := t.take()
	if t.TODO {
		t.emit("%s %d # TODO %s\n", word, n, flat(description))
		return
	}
	t.emit("%s %d - %s\n", word, n, flat(description))
}

// Pass records a passing result.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail records a failing result.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Skip records count results skipped for the given reason.
func (t *T) Skip(count int, reason string) {
	for ; count > 0; count-- {
		t.emit("ok %d # SKIP %s\n", t.take(), flat(reason))
	}
}

// Todo returns a T that writes to the same stream with the TODO directive.
func (t *T) Todo() *T {
	t.ready()
	todo := *t
	todo.TODO = true
	return &todo
}

// Count is how many results have been written.
func (t *T) Count() int {
	if t.counter == nil {
		return 0
	}
	return *t.counter - 1
}

// AutoPlan writes the plan "1..Count()".
func (t *T) AutoPlan() { t.emit("1..%d\n", t.Count()) }

// Diagnostic writes message as comment lines, one "# " line per line.
func (t *T) Diagnostic(message string) {
	for _, line := range strings.Split(strings.TrimRight(message, "\n"), "\n") {
		t.emit("# %s\n", line)
	}
}

// Diagnosticf is Diagnostic with fmt.Sprintf formatting.
func (t *T) Diagnosticf(format string, args ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, args...))
}

// YAML attaches message to the last result as an indented YAML block
// ("  ---" ... "  ...").
func (t *T) YAML(message interface{}) error {
	doc, err := yaml.Marshal(message)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("  ---\n")
	for _, line := range strings.Split(strings.TrimRight(string(doc), "\n"), "\n") {
		b.WriteString("  ")
		b.WriteString(line)
		b.WriteString("\n")
	}
	b.WriteString("  ...\n")
	t.emit("%s", b.String())
	return nil
}
