//! The dnf plugin in real dnf transactions (an --installroot, a createrepo_c repository built
//! here, the plugin on the plugin path) against a real server; the Python module imported
//! directly; the plugin file parsed as Python 3.6.

mod dnf;
mod python;
mod support;
