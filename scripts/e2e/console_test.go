package e2e

import (
	"reflect"
	"strings"
	"testing"
)

func TestParser(t *testing.T) {
	const full = "PROBE boot 6.1.0-53-cloud-amd64\n" +
		"PROBE insmod bfq ok\n" +
		"PROBE insmod eql err insmod: can't insert '/modules/01-eql.ko': File exists\n" +
		"PROBE btf bfq yes\n" +
		"PROBE btf eql no\n" +
		"PROBE kfunc abiprobe_call_mix ok 40002\n" +
		"PROBE kfunc other err load: kfunc \"x\": not supported\n" +
		"PROBE fentry do_sys_openat2 ok\r\n" +
		"PROBE fentry bfq:bfq_init_rq err load: fentry x not supported\n" +
		"PROBE gone bfq:bfq_exit_icq absent err load: not found\n" +
		"PROBE abi-start abp_i128_p1\n" +
		"PROBE abi abp_i128_p1 ok hits=1 cnt=3 mask=7 slots=1716151413121110,- exit=1/7 base=1011/2021 got=1011/2021\n" +
		"PROBE dmesg-btf-errors 1\n" +
		"[    3.1] PROBE dmesg BTF: eql: Invalid name\n" +
		"PROBE done\n"
	tests := []struct {
		name    string
		console string
		want    *Result
		err     string // substring of the error; "" for none
	}{
		{
			name:    "complete",
			console: full,
			want: &Result{
				Fentry:    map[string]string{"do_sys_openat2": "ok", "bfq:bfq_init_rq": "load: fentry x not supported"},
				ModuleBTF: map[string]bool{"bfq": true, "eql": false},
				Insmod:    map[string]string{"bfq": "ok", "eql": "insmod: can't insert '/modules/01-eql.ko': File exists"},
				BTFErrors: []string{"BTF: eql: Invalid name"},
				Gone:      map[string]string{"bfq:bfq_exit_icq": "absent err load: not found"},
				Kfunc:     map[string]string{"abiprobe_call_mix": "ok 40002", "other": "err load: kfunc \"x\": not supported"},
				ABI:       map[string]string{"abp_i128_p1": "ok hits=1 cnt=3 mask=7 slots=1716151413121110,- exit=1/7 base=1011/2021 got=1011/2021"},
				ABIOrder:  []string{"abp_i128_p1"},
			},
		},
		{
			name:    "no init",
			console: "Kernel panic - not syncing: VFS: Unable to mount root fs\n",
			err:     "never ran /init",
		},
		{
			name:    "probe crashed",
			console: strings.Split(full, "PROBE dmesg-btf-errors")[0],
			err:     "did not finish",
		},
		{
			name:    "lost dmesg line",
			console: strings.Replace(full, "[    3.1] PROBE dmesg BTF: eql: Invalid name\n", "", 1),
			err:     "announced 1 BTF log lines, console has 0",
		},
		{
			name:    "garbled",
			console: full + "PROBE btf bfq maybe\n",
			err:     "unparsable",
		},
		{
			name:    "kfunc line without result",
			console: full + "PROBE kfunc abiprobe_call_mix\n",
			err:     "unparsable",
		},
		{
			name:    "abi line without result",
			console: full + "PROBE abi abp_x\n",
			err:     "unparsable",
		},
		{
			name:    "error without text is not success",
			console: "PROBE boot x\nPROBE fentry f err\nPROBE dmesg-btf-errors 0\nPROBE done\n",
			want: &Result{
				Fentry:    map[string]string{"f": "err"},
				ModuleBTF: map[string]bool{},
				Insmod:    map[string]string{},
				Gone:      map[string]string{},
				Kfunc:     map[string]string{},
				ABI:       map[string]string{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newParser()
			for _, l := range strings.SplitAfter(tt.console, "\n") {
				p.line(l)
			}
			err := p.check()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.res, tt.want) {
				t.Errorf("result\n got %+v\nwant %+v", p.res, tt.want)
			}
		})
	}
}
