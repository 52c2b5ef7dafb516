#!/usr/bin/env python3
# features-schema.py [FILE]: validate a runtime-spec features document (FILE,
# default stdin) against the vendored runtime-spec 1.3.0 schema
# (tests/data/runtime-spec-1.3.0, Draft 4 with relative $refs). Prints
# "ok" or each violation; exit status 0 when valid. Needs python3-jsonschema.
import json, os, sys, warnings

import jsonschema

warnings.simplefilter("ignore", DeprecationWarning)  # RefResolver: the API jsonschema 4.10 (Debian 12) has
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "runtime-spec-1.3.0")
schema = json.load(open(os.path.join(here, "features-schema.json")))
resolver = jsonschema.RefResolver(base_uri="file://" + here + "/", referrer=schema)
doc = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
errors = sorted(jsonschema.Draft4Validator(schema, resolver=resolver).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(str(p) for p in e.path) + ": " + e.message)
if not errors:
    print("ok")
sys.exit(1 if errors else 0)
