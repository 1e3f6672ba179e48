use netns_tests::domain::{Binaries, Domain, MigrateOptions, Topology, Tuning};
use netns_tests::probe::report::{summary, tcp_summary};
fn main() {
    let mut d = Domain::up(
        Topology::default(),
        Binaries::siblings_of_target().unwrap(),
        &Tuning::default(),
    )
    .unwrap();
    let p = d.start_probes("vm1", "client").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let t = d.migrate("vm1", "mag2", &MigrateOptions::default());
    println!("{t:?}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (u, tc) = d.stop_probes(p).unwrap();
    println!("{}\n{}", summary(&u), tcp_summary(&tc));
    for t in d
        .router("mag2", &router::ctl::Request::Bindings {})
        .unwrap()
    {
        println!("{}", t.render());
    }
    for t in d.router("lma", &router::ctl::Request::Counters {}).unwrap() {
        println!("{}", t.render());
    }
    for t in d
        .router("mag2", &router::ctl::Request::Counters {})
        .unwrap()
    {
        println!("{}", t.render());
    }
    println!("{}", d.diagnosis());
}
