# Reads an .evtx with python-evtx (Debian package python3-evtx), an
# implementation independent of the Velocidex parser, and prints JSON:
# the file header's and each chunk's checks (CRC32s included) and every
# record's id, time and XML. Used by proof_test.go.
import json
import sys

import Evtx.Evtx as evtx

out = {"header_ok": None, "chunks": [], "records": []}
with evtx.Evtx(sys.argv[1]) as log:
    header = log.get_file_header()
    out["header_ok"] = bool(header.verify())
    for chunk in header.chunks():
        out["chunks"].append({"ok": bool(chunk.verify())})
        for rec in chunk.records():
            out["records"].append({
                "id": rec.record_num(),
                "ok": bool(rec.verify()),
                "time": rec.timestamp().isoformat(),
                "xml": rec.xml(),
            })
json.dump(out, sys.stdout)
