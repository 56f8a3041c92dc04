// Command template-oracle renders spec.template.data exactly as upstream's controller does
// (pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go): Go's text/template with Sprig v3's
// generic function map minus env, expandenv and getHostByName. Test-only: the differential spec
// (shared/template/differential.test.ts) feeds it a batch of cases as JSON on stdin and compares
// its JSON answer on stdout with the TypeScript engine's, byte for byte.
//
// The clock is the one thing made deterministic: "now" and "ago" read a fixed time from the
// input, so date functions agree on both sides. Random functions keep Sprig's own sources; the
// generated templates do not call them.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"sort"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
)

type input struct {
	NowUnixNano int64 `json:"nowUnixNano"`
	Cases       []struct {
		Templates map[string]*string `json:"templates"`
		Decrypted map[string]string  `json:"decrypted"` // base64 of the raw bytes
	} `json:"cases"`
}

type keyError struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"` // "parse" or "exec"
	Message string `json:"message"`
}

type result struct {
	Data   map[string]string `json:"data,omitempty"` // base64
	Errors []keyError        `json:"errors,omitempty"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		os.Stderr.WriteString("template-oracle: bad input: " + err.Error() + "\n")
		os.Exit(2)
	}
	now := time.Unix(0, in.NowUnixNano).UTC()
	funcs := sprig.GenericFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	delete(funcs, "getHostByName")
	addChecks(funcs)
	funcs["now"] = func() time.Time { return now }
	funcs["ago"] = func(date interface{}) string {
		var t time.Time
		switch d := date.(type) {
		case time.Time:
			t = d
		case int64:
			t = time.Unix(d, 0)
		case int:
			t = time.Unix(int64(d), 0)
		case int32:
			t = time.Unix(int64(d), 0)
		default:
			t = now
		}
		return now.Sub(t).Round(time.Second).String()
	}

	out := make([]result, 0, len(in.Cases))
	for _, c := range in.Cases {
		secretData := map[string][]byte{}
		data := map[string]string{}
		for k, v := range c.Decrypted {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				os.Stderr.WriteString("template-oracle: bad base64\n")
				os.Exit(2)
			}
			secretData[k] = b
			data[k] = string(b)
		}
		for k, v := range c.Templates {
			if _, exists := data[k]; !exists && v != nil {
				data[k] = *v
			}
		}
		var errs []keyError
		for k, v := range c.Templates {
			if v == nil {
				delete(secretData, k)
				continue
			}
			var buf bytes.Buffer
			t, err := template.New(k).Funcs(funcs).Parse(*v)
			if err != nil {
				errs = append(errs, keyError{k, "parse", err.Error()})
				continue
			}
			if err := t.Execute(&buf, data); err != nil {
				errs = append(errs, keyError{k, "exec", err.Error()})
			}
			if _, fromEncrypted := c.Decrypted[k]; !fromEncrypted {
				secretData[k] = buf.Bytes()
			}
		}
		if errs != nil {
			sort.Slice(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
			out = append(out, result{Errors: errs})
			continue
		}
		enc := map[string]string{}
		for k, v := range secretData {
			enc[k] = base64.StdEncoding.EncodeToString(v)
		}
		out = append(out, result{Data: enc})
	}
	w := json.NewEncoder(os.Stdout)
	if err := w.Encode(out); err != nil {
		os.Exit(2)
	}
}
