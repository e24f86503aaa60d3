// The per-review floor in Go, what Kyverno and Gatekeeper are written in: net/http
// over TLS, the whole review decoded by encoding/json, a fixed answer echoing the uid.
// Built by bench/server_bench.py from this file alone (standard library only) and
// run with GOMAXPROCS=1, one core, as bindcheck's one process has.
package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
)

type answer struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Response   response `json:"response"`
}

type response struct {
	UID     string `json:"uid"`
	Allowed bool   `json:"allowed"`
}

func validate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 3<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	var review map[string]any
	if err := json.Unmarshal(body, &review); err != nil {
		http.Error(w, "json", http.StatusBadRequest)
		return
	}
	request, _ := review["request"].(map[string]any)
	uid, _ := request["uid"].(string)
	version, _ := review["apiVersion"].(string)
	out, _ := json.Marshal(answer{version, "AdmissionReview", response{uid, true}})
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func main() {
	addr, certDir := os.Args[1], os.Args[2]
	http.HandleFunc("/validate", validate)
	log.Fatal(http.ListenAndServeTLS(addr, certDir+"/tls.crt", certDir+"/tls.key", nil))
}
