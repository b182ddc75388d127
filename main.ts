/** Entry point placeholder; replaced by the wiring step. */
console.log("mesos-dns");
