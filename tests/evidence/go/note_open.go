// note_open opens a signed note with the Go reference implementation of C2SP signed-note,
// golang.org/x/mod/sumdb/note, for tests/evidence/test_signed_note_go.py.
//
// Usage: note_open NOTE_FILE VKEY_FILE...
//
// Exit 0 when note.Open accepts the note with the given verifier keys, printing one line
// "verified NAME+HASH" per signature it checked, "unverified N" for the signatures by keys it was
// not given (note.Open ignores those), then the note's text. Exit 1 when note.Open refuses the
// note (the reason on stderr), 2 for a usage error or an unreadable file or key.
package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) < 3 {
		fail(2, "usage: note_open NOTE_FILE VKEY_FILE...")
	}
	msg, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(2, "note: %v", err)
	}
	var verifiers []note.Verifier
	for _, path := range os.Args[2:] {
		vkey, err := os.ReadFile(path)
		if err != nil {
			fail(2, "vkey: %v", err)
		}
		v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
		if err != nil {
			fail(2, "vkey %s: %v", path, err)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		fail(1, "note.Open: %v", err)
	}
	for _, sig := range n.Sigs {
		fmt.Printf("verified %s+%08x\n", sig.Name, sig.Hash)
	}
	fmt.Printf("unverified %d\n", len(n.UnverifiedSigs))
	fmt.Print(n.Text)
}
