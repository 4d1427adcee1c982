#!/usr/bin/python3
"""How much time the patchman hooks add to a package transaction.

    cargo build --release -p libreport -p patchman-apt -p patchman-dnf
    cargo build -p patchman-server --bin patchman
    /usr/bin/python3 plugins/bench/hooks.py --target target/release --server target/debug/patchman

Runs N real apt-get and N real dnf transactions (isolated as in the tests: APT_CONFIG and a
dpkg root of its own; a dnf --installroot; file: repositories built here) without the hook,
with the hook and the server up, and with the hook and the server stopped, and prints the
median wall time of each, the difference (what the hook adds), the hook program's own time,
and the sizes of the shared objects. Needs what .ci/setup installs; runs as root.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "bench-enrollment-key-0123456789"
SHIPPED_HOOK = "/usr/libexec/patchman/patchman-apt-hook"


def run(args, **kw):
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if out.returncode != 0:
        sys.exit("%s failed (%d):\n%s" % (" ".join(args), out.returncode, out.stderr.decode(errors="replace")))
    return out


def timed(args, env):
    t = time.perf_counter()
    run(args, env=env)
    return (time.perf_counter() - t) * 1000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class Server:
    def __init__(self, binary, work):
        self.binary, self.port = binary, free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ, PATCHMAN_LISTEN="127.0.0.1:%d" % self.port, PATCHMAN_LOG="warn",
                        PATCHMAN_DATABASE_URL="sqlite://%s/patchman.db" % work, PATCHMAN_ENROLLMENT_KEY=KEY)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=subprocess.PIPE)
        while not self.proc.stdout.readline().startswith(b"patchman listening on"):
            pass

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def client_config(path, server, state, hostname, client):
    write(path, 'server = "%s"\nstate_dir = "%s"\nhostname = "%s"\nclient = "%s"\n' % (server, state, hostname, client))


def apt_env(work, hook):
    repo, root = os.path.join(work, "repo"), os.path.join(work, "root")
    for d in ["lists/partial", "cache/archives/partial", "empty.d", "repo"]:
        os.makedirs(os.path.join(work, d), exist_ok=True)
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log/apt", "var/lib/apt"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for f in ["status", "available"]:
        write(os.path.join(root, "var/lib/dpkg", f), "")
    os.makedirs(os.path.join(root, "etc"))
    shutil.copy("/etc/os-release", os.path.join(root, "etc/os-release"))
    for version in ["1.0-1", "1.1-1"]:
        pkg = os.path.join(work, "build", version)
        write(os.path.join(pkg, "DEBIAN/control"), "Package: hello-patchman\nVersion: %s\nArchitecture: all\n"
              "Maintainer: T <t@example.invalid>\nDescription: bench\n" % version)
        write(os.path.join(pkg, "usr/share/doc/hello-patchman/README"), version)
        run(["dpkg-deb", "--root-owner-group", "--build", pkg, os.path.join(repo, "hello-patchman_%s_all.deb" % version)])
    with open(os.path.join(repo, "Packages"), "wb") as f:
        f.write(run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=repo).stdout)
    write(os.path.join(work, "sources.list"), "deb [trusted=yes] file:%s ./\n" % repo)
    base = ('Dir::Etc::sourcelist "{w}/sources.list"; Dir::Etc::sourceparts "-"; Dir::Etc::parts "{w}/empty.d";\n'
            'Dir::State "{r}/var/lib/apt"; Dir::State::Lists "{w}/lists"; Dir::State::status "{r}/var/lib/dpkg/status";\n'
            'Dir::Cache "{w}/cache"; Dir::Log "{r}/var/log/apt"; APT::Get::List-Cleanup "0"; Debug::NoLocking "1";\n'
            'DPkg::Options {{ "--root={r}"; "--admindir={r}/var/lib/dpkg"; "--force-not-root"; '
            '"--force-script-chrootless"; }};\n').format(w=work, r=root)
    with open(os.path.join(ROOT, "packaging/apt/50patchman")) as f:
        hooks = f.read().replace(SHIPPED_HOOK, hook)
    write(os.path.join(work, "plain.conf"), base)
    write(os.path.join(work, "hooked.conf"), base + hooks)
    return root


def dnf_env(work, args):
    home, root, repo = os.path.join(work, "home"), os.path.join(work, "root"), os.path.join(work, "repo")
    write(os.path.join(home, ".rpmmacros"), "%_dbpath /var/lib/rpm\n")
    write(os.path.join(root, "etc/os-release"), 'ID="rocky"\nNAME="Rocky Linux"\nVERSION_ID="9.4"\n')
    run(["rpm", "--root", root, "--initdb"], env=dict(os.environ, HOME=home))
    os.makedirs(repo)
    for version in ["1.0", "1.1"]:
        spec = os.path.join(work, "hello-%s.spec" % version)
        write(spec, "Name: hello-patchman\nVersion: %s\nRelease: 1\nSummary: b\nLicense: MIT\nBuildArch: noarch\n"
              "%%description\nb\n%%files\n" % version)
        run(["rpmbuild", "--define", "_topdir %s/rpmbuild" % work, "--quiet", "-bb", spec], env=dict(os.environ, HOME=home))
        shutil.copy(os.path.join(work, "rpmbuild/RPMS/noarch/hello-patchman-%s-1.noarch.rpm" % version), repo)
    run(["createrepo_c", "-q", repo])
    plugins, confd = os.path.join(work, "plugins"), os.path.join(work, "plugins.d")
    os.makedirs(plugins)
    shutil.copy(os.path.join(ROOT, "plugins/dnf/patchman.py"), plugins)
    pymod = os.path.join(work, "pymodule")
    os.makedirs(pymod)
    os.symlink(os.path.abspath(os.path.join(args.target, "libpatchman_libreport.so")),
               os.path.join(pymod, "patchman_libreport.abi3.so"))
    write(os.path.join(work, "dnf.conf"), "[main]\ngpgcheck=0\nreposdir=/nonexistent\npluginpath=%s\npluginconfpath=%s\n"
          "cachedir=%s/cache\ninstall_weak_deps=0\n[local]\nname=local\nbaseurl=file://%s\ngpgcheck=0\n"
          % (plugins, confd, work, repo))
    return home, root, confd, pymod


def alternate(run_one, n):
    """n runs without the hook and n with it, interleaved so that drift hits both alike."""
    plain, hooked = [], []
    for i in range(2 * n):
        (hooked if i % 2 else plain).append(run_one(i, bool(i % 2)))
    return plain, hooked


def check_spooled(state, n, what):
    """With the server down, each hooked transaction left its record in the spool."""
    time.sleep(1)
    records = [f for f in os.listdir(os.path.join(state, "spool")) if f.startswith("tx-")]
    if len(records) < n:
        sys.exit("%s (in %s): %d records spooled while the server was down, expected at least %d" % (what, state, len(records), n))


def build_hook(target, work):
    """hook/patchman-apt-hook.c linked to the target's libpatchman_report.so, as packaged."""
    hook = os.path.join(work, "patchman-apt-hook")
    apt = os.path.join(ROOT, "plugins", "apt")
    run(["gcc", "-std=c99", "-O2", "-I", os.path.join(apt, "include"), "-o", hook,
         os.path.join(apt, "hook", "patchman-apt-hook.c"), "-L", target, "-Wl,-rpath," + target, "-lpatchman_report"])
    return hook


def median_ms(samples):
    return statistics.median(samples)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", required=True, help="directory with patchman-client and the .so files")
    p.add_argument("--server", required=True, help="the patchman server binary")
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    client = os.path.abspath(os.path.join(args.target, "patchman-client"))
    work = tempfile.mkdtemp(prefix="patchman-bench-")
    hook = build_hook(os.path.abspath(args.target), work)
    server = Server(os.path.abspath(args.server), work)
    server.start()
    results = []
    try:
        # apt
        aw = os.path.join(work, "apt")
        os.makedirs(aw)
        aroot = apt_env(aw, hook)
        up_cfg, down_cfg = os.path.join(aw, "up.toml"), os.path.join(aw, "down.toml")
        client_config(up_cfg, server.url, os.path.join(aw, "state"), "bench-apt.example.org", client)
        client_config(down_cfg, "http://127.0.0.1:%d" % free_port(), os.path.join(aw, "state"), "bench-apt.example.org", client)
        base_env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-q"], env=dict(base_env, APT_CONFIG=os.path.join(aw, "plain.conf")))
        run([client, "--config", up_cfg, "--root", aroot, "--enroll", KEY, "--trigger", "manual"], env=base_env)
        steps = [["install", "-y", "--allow-downgrades", "hello-patchman=" + v] for v in ["1.0-1", "1.1-1"]]

        def apt_run(i, hooked, cfg):
            conf = "hooked.conf" if hooked else "plain.conf"
            env = dict(base_env, APT_CONFIG=os.path.join(aw, conf), PATCHMAN_CONFIG=cfg)
            return timed(["apt-get"] + steps[i % 2], env)

        apt_run(1, False, up_cfg)  # warm-up
        apt = alternate(lambda i, hooked: apt_run(i, hooked, up_cfg), args.runs)
        server.stop()
        down = alternate(lambda i, hooked: apt_run(i, hooked, down_cfg), args.runs)
        check_spooled(os.path.join(aw, "state"), args.runs, "apt")
        apt = {"no hook": apt[0] + down[0], "hook, server up": apt[1], "hook, server down": down[1]}
        # The hook program alone: post-invoke with a pending transaction, as apt runs it.
        with open(os.path.join(ROOT, "plugins/apt/testdata/pre-install-pkgs/downgrade-and-install.v3")) as f:
            v3 = f.read().replace("/tmp/aptcap/fr", aroot)
        alone = []
        for _ in range(args.runs):
            env = dict(base_env, PATCHMAN_CONFIG=down_cfg)
            t = time.perf_counter()
            subprocess.run([hook, "pre-install-pkgs"], input=v3.encode(), env=env, check=True)
            run([hook, "post-invoke"], env=env)
            alone.append((time.perf_counter() - t) * 1000)
        results.append(("apt-get", apt, alone))

        # dnf
        server.start()
        dw = os.path.join(work, "dnf")
        os.makedirs(dw)
        home, droot, confd, pymod = dnf_env(dw, args)
        dstate = os.path.join(dw, "state")
        run([client, "--server", server.url, "--root", droot, "--state-dir", dstate, "--hostname",
             "bench-dnf.example.org", "--enroll", KEY, "--trigger", "manual"])

        def plugin_conf(url):
            write(os.path.join(confd, "patchman.conf"), "[main]\nenabled=1\nserver=%s\nstate_dir=%s\nhostname=%s\nclient=%s\n"
                  % (url, dstate, "bench-dnf.example.org", client))

        env = dict(os.environ, HOME=home, PYTHONPATH=pymod, LC_ALL="C.UTF-8")
        dnf_cmd = ["/usr/bin/dnf", "-y", "-q", "-c", os.path.join(dw, "dnf.conf"), "--installroot=" + droot, "--releasever=9"]
        timed(dnf_cmd + ["makecache"], env)

        def dnf_run(i, plugin):
            # Install, then downgrade and upgrade in turn: every run is a real transaction.
            query = subprocess.run(["rpm", "--root", droot, "-q", "hello-patchman"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            installed = query.stdout.decode()
            if query.returncode != 0:
                step = ["install", "hello-patchman-1.1"]
            elif "1.1-1" in installed:
                step = ["downgrade", "hello-patchman-1.0"]
            else:
                step = ["upgrade"]
            return timed(dnf_cmd + ["-C"] + ([] if plugin else ["--disableplugin=patchman"]) + step, env)

        plugin_conf(server.url)
        dnf_run(0, False)  # warm-up
        up = alternate(dnf_run, args.runs)
        server.stop()
        plugin_conf("http://127.0.0.1:%d" % free_port())
        down = alternate(dnf_run, args.runs)
        check_spooled(dstate, args.runs, "dnf")
        dnf = {"no hook": up[0] + down[0], "hook, server up": up[1], "hook, server down": down[1]}
        # The plugin's work alone, inside a Python that runs it (dnf's own start-up excluded):
        # import the module, collect the rpm database, spool, start the delivery.
        probe = ("import sys, time\nt = time.perf_counter()\nimport patchman_libreport as m\n"
                 "m.report('transaction', [('upgraded', 'hello-patchman', 'noarch', '1.0-1', '1.1-1')], settings="
                 "{'root': sys.argv[1], 'state_dir': sys.argv[2], 'hostname': 'bench-dnf.example.org', "
                 "'server': 'http://127.0.0.1:1', 'client': sys.argv[3]})\n"
                 "print((time.perf_counter() - t) * 1000)\n")
        alone = [float(run(["/usr/bin/python3", "-c", probe, droot, dstate, client], env=env).stdout)
                 for _ in range(args.runs)]
        results.append(("dnf", dnf, alone))
    finally:
        if server.proc and server.proc.poll() is None:
            server.stop()

    print("median wall time of %d transactions each (no hook: %d, interleaved with both)" % (args.runs, 2 * args.runs))
    for tool, series, alone in results:
        base = median_ms(series["no hook"])
        print("  %s" % tool)
        for name, samples in series.items():
            m = median_ms(samples)
            extra = "" if name == "no hook" else "   hook adds %+.1f ms" % (m - base)
            print("    %-18s %7.1f ms  (min %.1f, max %.1f)%s" % (name, m, min(samples), max(samples), extra))
        if alone and tool == "dnf":
            print("    the plugin's work alone (import + report(), server down): %.1f ms" % median_ms(alone))
        elif alone:
            print("    hook programs alone (pre-install-pkgs + post-invoke, server down): %.1f ms" % median_ms(alone))
    print("sizes")
    for name in ["libpatchman_report.so", "libpatchman_libreport.so", "patchman-apt-hook", "patchman-client"]:
        path = hook if name == "patchman-apt-hook" else os.path.join(args.target, name)
        stripped = os.path.join(work, name + ".stripped")
        run(["strip", "-o", stripped, path])
        size = lambda p: "%.1f MB" % (os.path.getsize(p) / 1e6) if os.path.getsize(p) >= 1e6 else "%.0f KB" % (os.path.getsize(p) / 1e3)
        print("  %-26s %8s (%s stripped)" % (name, size(path), size(stripped)))
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
