fn main() {
    println!("entraprobe: under construction");
}
