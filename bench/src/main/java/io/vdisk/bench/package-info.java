/**
 * JMH benchmarks of the engine and {@link io.vdisk.bench.MakeChain}, which builds the test data
 * that {@code bench/compare.sh} times vdisk against qemu-img and cp on.
 */
package io.vdisk.bench;
