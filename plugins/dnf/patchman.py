# patchman dnf plugin: report every dnf transaction to a patchman server.
#
# Installed as <dnf plugin dir>/patchman.py (Debian: /usr/lib/python3/dist-packages/dnf-plugins,
# RHEL: /usr/lib/python3.X/site-packages/dnf-plugins) with /etc/dnf/plugins/patchman.conf; the
# rpm keeps it in /usr/lib64/patchman/dnf beside the module and links it there.
#
# After each successful transaction it passes what changed to the native module
# patchman_libreport (libreport built with pyo3, CPython >= 3.9), which reads the rpm
# database as it is now (dnf's own package query still shows the state before the
# transaction inside this hook), spools the report and starts a background delivery. Where
# the module cannot load (RHEL 8's platform-python 3.6, a missing file) it runs
# `patchman-client --detach` instead, which finds the changes by comparing the rpm database
# with the last state it spooled.
#
# It never fails, blocks or prompts a transaction: whatever goes wrong is one line on
# stderr, and the report waits in the spool. Keep this file Python 3.6 compatible (RHEL 8):
# no walrus, no positional-only parameters, no subprocess.run(capture_output=...).

from __future__ import absolute_import, unicode_literals

import os
import subprocess
import sys

import dnf


def _import_native():
    """patchman_libreport from Python's path or from beside this file (where the rpm puts
    both); None on Python < 3.9 (the module is abi3 for 3.9+) or when it cannot load."""
    if sys.version_info < (3, 9):
        return None
    here = os.path.dirname(os.path.realpath(__file__))
    sys.path.append(here)
    try:
        import patchman_libreport
        return patchman_libreport
    except Exception:  # ImportError, or a module this interpreter cannot load
        return None
    finally:
        sys.path.remove(here)


patchman_libreport = _import_native()

# Settings passed on to libreport (they win over /etc/patchman/client.toml).
SETTINGS = ('server', 'state_dir', 'hostname', 'tags', 'client', 'deliver')
DEFAULT_CLIENT = '/usr/bin/patchman-client'
CLIENT_TIMEOUT = 10


def _warn(message):
    sys.stderr.write('patchman: %s\n' % (message,))


def _action(name):
    return getattr(dnf.transaction, name, None)


def changes_of(transaction):
    """The changes of a dnf transaction as (action, name, arch, old, new) tuples."""
    replaced = {}
    for tsi in transaction:
        if tsi.action in (_action('PKG_UPGRADED'), _action('PKG_DOWNGRADED'), _action('PKG_REINSTALLED')):
            replaced[(tsi.pkg.name, tsi.pkg.arch)] = tsi.pkg.evr
    changes = []
    for tsi in transaction:
        pkg = tsi.pkg
        key = (pkg.name, pkg.arch)
        action = tsi.action
        if action == _action('PKG_INSTALL'):
            changes.append(('installed', pkg.name, pkg.arch, '', pkg.evr))
        elif action == _action('PKG_OBSOLETE'):
            if key in replaced:
                changes.append(('upgraded', pkg.name, pkg.arch, replaced[key], pkg.evr))
            else:
                changes.append(('installed', pkg.name, pkg.arch, '', pkg.evr))
        elif action == _action('PKG_UPGRADE'):
            changes.append(('upgraded', pkg.name, pkg.arch, replaced.get(key, ''), pkg.evr))
        elif action == _action('PKG_DOWNGRADE'):
            changes.append(('downgraded', pkg.name, pkg.arch, replaced.get(key, ''), pkg.evr))
        elif action == _action('PKG_REINSTALL'):
            changes.append(('reinstalled', pkg.name, pkg.arch, replaced.get(key, pkg.evr), pkg.evr))
        elif action in (_action('PKG_REMOVE'), _action('PKG_OBSOLETED')):
            changes.append(('removed', pkg.name, pkg.arch, pkg.evr, ''))
    return changes


class Patchman(dnf.Plugin):
    name = 'patchman'

    def __init__(self, base, cli):
        super(Patchman, self).__init__(base, cli)
        self.base = base
        self.settings = {}
        self.config_file = None
        self.native = True

    def config(self):
        try:
            conf = self.read_config(self.base.conf)
            if not conf.has_section('main'):
                return
            for key in SETTINGS:
                if conf.has_option('main', key) and conf.get('main', key).strip():
                    self.settings[key] = conf.get('main', key).strip()
            if conf.has_option('main', 'config') and conf.get('main', 'config').strip():
                self.config_file = conf.get('main', 'config').strip()
            if conf.has_option('main', 'native'):
                self.native = conf.get('main', 'native').strip().lower() in ('1', 'yes', 'true', 'on')
        except Exception as e:
            _warn('cannot read the plugin configuration: %s' % (e,))

    def transaction(self):
        try:
            self._report()
        except Exception as e:
            _warn(e)

    def _report(self):
        changes = changes_of(self.base.transaction)
        settings = dict(self.settings)
        settings['root'] = self.base.conf.installroot or '/'
        if self.native and patchman_libreport is not None:
            patchman_libreport.report('transaction', changes, settings=settings, config=self.config_file, tool='dnf')
        else:
            self._run_client(settings)

    def _run_client(self, settings):
        """patchman-client --detach: collects, spools, starts the delivery, returns."""
        args = [settings.get('client', DEFAULT_CLIENT), '--detach', '--trigger', 'transaction', '--tool', 'dnf']
        for key, option in (('root', '--root'), ('server', '--server'), ('state_dir', '--state-dir'),
                            ('hostname', '--hostname'), ('tags', '--tags')):
            if settings.get(key):
                args.extend([option, settings[key]])
        if self.config_file:
            args.extend(['--config', self.config_file])
        with open(os.devnull, 'rb') as devnull:
            child = subprocess.Popen(args, stdin=devnull, stdout=devnull, stderr=subprocess.PIPE,
                                     close_fds=True, start_new_session=True)
        try:
            _, err = child.communicate(timeout=CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            _warn('%s is still running; not waiting for it' % (args[0],))
            return
        line = err.decode('utf-8', 'replace').strip().splitlines()
        if line:
            sys.stderr.write(line[0] + '\n')
