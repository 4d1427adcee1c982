//! Tests of the whole refresh against loopback mirrors built from real tools and real data.

mod apt_built;
mod apt_real;
mod fixtures;
mod http;
mod yum;
