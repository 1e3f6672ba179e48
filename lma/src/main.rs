fn main() {
    println!("lma: not yet implemented");
}
