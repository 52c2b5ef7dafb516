// Copyright The kiln Authors
// SPDX-License-Identifier: Apache-2.0

package tap

import (
	"strings"
	"testing"
)

func TestStream(t *testing.T) {
	var out strings.Builder
	s := New()
	s.Writer = &out
	s.Header(0)
	s.Pass("first")
	s.Ok(false, "second\nline")
	s.Skip(2, "not here")
	s.Todo().Fail("later")
	s.Diagnostic("one\ntwo\n")
	s.Diagnosticf("n=%d", 3)
	if err := s.YAML(map[string]string{"error": "boom", "reference": "r"}); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 5 {
		t.Errorf("Count() = %d, want 5", s.Count())
	}
	s.AutoPlan()
	want := `TAP version 13
ok 1 - first
not ok 2 - second line
ok 3 # SKIP not here
ok 4 # SKIP not here
not ok 5 # TODO later
# one
# two
# n=3
  ---
  error: boom
  reference: r
  ...
1..5
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestHeaderPlan(t *testing.T) {
	var out strings.Builder
	s := New()
	s.Writer = &out
	s.Header(2)
	if out.String() != "TAP version 13\n1..2\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestZeroValue(t *testing.T) {
	var out strings.Builder
	s := &T{Writer: &out}
	s.Pass("a")
	s.Todo().Pass("b")
	s.Pass("c")
	want := "ok 1 - a\nok 2 # TODO b\nok 3 - c\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
