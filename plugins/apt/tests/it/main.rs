//! The apt hook against real apt-get and dpkg runs (isolated with APT_CONFIG, the machine's
//! own packages untouched) and a real server; the C ABI through its header, from C.

mod apt;
mod c_abi;
mod support;
