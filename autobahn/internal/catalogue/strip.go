//go:build ignore

// Command strip regenerates the embedded catalogue files from the reference
// case catalogue exported from the official suite's reports. It keeps only the
// facts the runner needs (expected events, expected close behaviour, report
// flags) and drops the suite's prose (descriptions and expectations), which the
// project writes in its own words.
//
// Usage (from the repository root):
//
//	go run autobahn/internal/catalogue/strip.go -in /work/shared/autobahn -out autobahn/internal/catalogue
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", "/work/shared/autobahn", "directory with the reference catalogue files")
	out := flag.String("out", "autobahn/internal/catalogue", "output directory")
	flag.Parse()
	for _, name := range []string{"cases-server-role.json", "cases-client-role.json"} {
		raw, err := os.ReadFile(filepath.Join(*in, name))
		if err != nil {
			log.Fatal(err)
		}
		var all map[string]map[string]json.RawMessage
		if err := json.Unmarshal(raw, &all); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		for id, entry := range all {
			delete(entry, "description")
			delete(entry, "expectation")
			all[id] = entry
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", " ")
		if err := enc.Encode(all); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*out, name), buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		log.Printf("%s: %d cases", name, len(all))
	}
}
