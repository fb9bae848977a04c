// logcheck verifies a vouch relay's log with Go's golang.org/x/mod/sumdb/tlog and sumdb/note, an
// implementation independent of ours. It is run by test/interop/log.test.ts:
//
//	logcheck <log prefix URL> <verifier key> <cases.json>
//
// cases.json holds two signed checkpoints (old, new) and inclusion and consistency proofs our
// TypeScript computed. Any failure exits non-zero with a message on stderr.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type cases struct {
	Old       string `json:"old"`
	New       string `json:"new"`
	Inclusion []struct {
		Index int64    `json:"index"`
		Leaf  string   `json:"leaf"`
		Proof []string `json:"proof"`
	} `json:"inclusion"`
	Consistency []string `json:"consistency"`
}

var client = &http.Client{Timeout: 10 * time.Second}
var requests = 0

func get(url string) []byte {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	// A local relay (wrangler dev) limits requests per client address like a deployed one; this
	// checker reads hundreds of tiles a run, so each request names its own address from
	// 198.18.0.0/15 (RFC 2544, for benchmarks). Cloudflare's edge would overwrite the header.
	requests++
	req.Header.Set("CF-Connecting-IP", fmt.Sprintf("198.18.%d.%d", (requests>>8)&0xff, requests&0xff))
	res, err := client.Do(req)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil || res.StatusCode != 200 {
		fail("GET %s: status %d, %v", url, res.StatusCode, err)
	}
	return b
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "logcheck: "+format+"\n", args...)
	os.Exit(1)
}

// c2spPath maps x/mod 0.7's sumdb tile names (tile/8/L/N, tile/8/data/N) to C2SP tlog-tiles ones.
func c2spPath(t tlog.Tile) string {
	p := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
	return strings.Replace(p, "tile/data/", "tile/entries/", 1)
}

type tiles struct{ prefix string }

func (tiles) Height() int { return 8 }
func (r tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = get(r.prefix + "/" + c2spPath(t))
	}
	return out, nil
}
func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// open verifies a checkpoint note and parses its origin, size and root.
func open(msg []byte, v note.Verifier, origin string) tlog.Tree {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("note.Open: %v\n%s", err, msg)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != origin {
		fail("checkpoint origin %q, want %q", lines[0], origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], root)
	return tlog.Tree{N: size, Hash: h}
}

func hashes(b64 []string) []tlog.Hash {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			fail("bad hash %q", s)
		}
		copy(out[i][:], b)
	}
	return out
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: logcheck <log prefix URL> <verifier key> <cases.json>")
	}
	prefix, vkey := os.Args[1], os.Args[2]
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	origin := v.Name()
	raw, err := os.ReadFile(os.Args[3])
	if err != nil {
		fail("%v", err)
	}
	var c cases
	if err := json.Unmarshal(raw, &c); err != nil {
		fail("cases: %v", err)
	}
	old, cur := open([]byte(c.Old), v, origin), open([]byte(c.New), v, origin)
	live := open(get(prefix+"/checkpoint"), v, origin)
	tr := tiles{prefix}

	// The tree recomputed from our tiles (TileHashReader checks every tile against the root).
	for _, t := range []tlog.Tree{old, cur, live} {
		h, err := tlog.TreeHash(t.N, tlog.TileHashReader(t, tr))
		if err != nil || h != t.Hash {
			fail("tree %d from tiles: %v (got %v want %v)", t.N, err, h, t.Hash)
		}
	}
	hr := tlog.TileHashReader(cur, tr)

	// Every entry bundle's records hash to the level-0 hashes.
	for n := int64(0); n < cur.N; n += 256 {
		w := cur.N - n
		if w > 256 {
			w = 256
		}
		bundle := get(prefix + "/" + c2spPath(tlog.Tile{H: 8, L: -1, N: n / 256, W: int(w)}))
		for i := int64(0); i < w; i++ {
			if len(bundle) < 2 {
				fail("bundle %d ends early", n/256)
			}
			l := int(bundle[0])<<8 | int(bundle[1])
			rec := bundle[2 : 2+l]
			bundle = bundle[2+l:]
			want, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, n+i)})
			if err != nil || tlog.RecordHash(rec) != want[0] {
				fail("record %d does not hash to its leaf: %v", n+i, err)
			}
		}
		if len(bundle) != 0 {
			fail("bundle %d has trailing bytes", n/256)
		}
	}

	// Our inclusion proofs are accepted, and equal Go's own.
	for _, inc := range c.Inclusion {
		leaf := hashes([]string{inc.Leaf})[0]
		p := tlog.RecordProof(hashes(inc.Proof))
		if err := tlog.CheckRecord(p, cur.N, cur.Hash, inc.Index, leaf); err != nil {
			fail("inclusion of %d in %d: %v", inc.Index, cur.N, err)
		}
		mine, err := tlog.ProveRecord(cur.N, inc.Index, hr)
		if err != nil || fmt.Sprint(mine) != fmt.Sprint(p) {
			fail("inclusion proof of %d differs from Go's: %v", inc.Index, err)
		}
	}
	// Our consistency proof is accepted, and equals Go's own.
	p := tlog.TreeProof(hashes(c.Consistency))
	if err := tlog.CheckTree(p, cur.N, cur.Hash, old.N, old.Hash); err != nil {
		fail("consistency %d -> %d: %v", old.N, cur.N, err)
	}
	mine, err := tlog.ProveTree(cur.N, old.N, hr)
	if err != nil || fmt.Sprint(mine) != fmt.Sprint(p) {
		fail("consistency proof differs from Go's: %v", err)
	}
	// And a tampered one is not.
	if len(p) > 0 {
		p[0][0] ^= 1
		if tlog.CheckTree(p, cur.N, cur.Hash, old.N, old.Hash) == nil {
			fail("a tampered consistency proof was accepted")
		}
	}
	fmt.Printf("ok: %s sizes %d, %d, %d; %d inclusion proofs; consistency %d -> %d\n", origin, old.N, cur.N, live.N, len(c.Inclusion), old.N, cur.N)
}
