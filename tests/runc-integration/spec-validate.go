// spec-validate SCHEMA CONFIG: validate CONFIG (a config.json) against the
// OCI runtime-spec JSON schema SCHEMA. Built by tests/runc-integration/run.sh
// for runc's "spec validator" test, which otherwise fetches runtime-spec's
// validate.go from the network. Exit 0 when valid, 1 with the errors when not.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/xeipuuv/gojsonschema"
)

func fileURL(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return "file://" + abs
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: spec-validate SCHEMA CONFIG")
		os.Exit(2)
	}
	schema := gojsonschema.NewReferenceLoader(fileURL(os.Args[1]))
	doc := gojsonschema.NewReferenceLoader(fileURL(os.Args[2]))
	res, err := gojsonschema.Validate(schema, doc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if res.Valid() {
		fmt.Println("The document is valid")
		return
	}
	for _, e := range res.Errors() {
		fmt.Printf("- %s\n", e)
	}
	os.Exit(1)
}
