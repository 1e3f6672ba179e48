fn main() {
    println!("tapbridge: not yet implemented");
}
