fn main() {
    println!("mag: not yet implemented");
}
