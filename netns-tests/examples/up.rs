use netns_tests::domain::{Binaries, Domain, Topology, Tuning};
fn main() {
    let d = Domain::up(
        Topology::default(),
        Binaries::siblings_of_target().unwrap(),
        &Tuning::default(),
    );
    match d {
        Ok(d) => {
            let vm = d.address("vm1").unwrap().to_string();
            println!(
                "{}",
                d.exec("client", &["ping", "-6", "-c", "3", &vm])
                    .unwrap_or_else(|e| e.to_string())
            );
            for t in d.router("lma", &router::ctl::Request::Status {}).unwrap() {
                println!("{}", t.render());
            }
            for t in d
                .router("mag1", &router::ctl::Request::Bindings {})
                .unwrap()
            {
                println!("{}", t.render());
            }
            println!("{}", d.diagnosis());
        }
        Err(e) => println!("FAILED: {e}"),
    }
}
