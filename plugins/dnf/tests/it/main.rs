//! The dnf plugin in real dnf transactions (an --installroot, a createrepo_c repository built
//! here, the plugin on the plugin path) against a real server; the Python module imported
//! directly; the plugin file parsed as Python 3.6; the dnf5 action and the systemd units run
//! as shipped.

mod dnf;
mod python;
mod shipped;
mod support;
