# Plots of `ppml bench dmlp` (called by the bench with -e "dir='...'; nmax=40; data='...'").
#   dmlp_time_vs_N.png   critical-path total time vs N, one line per eps (+ measured wall, eps=1)
# Variables: dir, nmax, data (task name), enc (encoding name).
#   dmlp_breakdown.png   encode / comm / comp at N = nmax, per eps (critical path)
#   dmlp_accuracy.png    test accuracy per iteration at N = nmax, per eps and non-private
if (!exists("dir")) dir = "dmlp-bench"
if (!exists("nmax")) nmax = 40
if (!exists("data")) data = ""
if (!exists("enc")) enc = "bfv"
set terminal pngcairo size 900,600 noenhanced
set grid
set key top left

set output dir."/dmlp_time_vs_N.png"
set title "ACA-DMLP (".data."): total time vs N (critical path; encoding ".enc.")"
set xlabel "workers N"
set ylabel "seconds"
sel(e) = sprintf("< awk '$1 !~ /^#/ && $2 == %s' %s/times.dat", e, dir)
plot sel("0.5") u 1:6 w lp t "eps=0.5", sel("1") u 1:6 w lp t "eps=1", sel("2") u 1:6 w lp t "eps=2", \
     sel("4") u 1:6 w lp t "eps=4", sel("-1") u 1:6 w lp t "eps=inf", sel("1") u 1:7 w lp dt 2 t "eps=1, measured wall"

set output dir."/dmlp_breakdown.png"
set title sprintf("ACA-DMLP (%s): time breakdown at N = %d (critical path)", data, nmax)
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.6
set xlabel "epsilon"
set ylabel "seconds"
set key top right
plot dir."/breakdown.dat" u 2:xtic(1) t "encode", '' u 3 t "comm", '' u 4 t "comp"

set style data linespoints
set output dir."/dmlp_accuracy.png"
set title sprintf("ACA-DMLP (%s): test accuracy per iteration, N = %d", data, nmax)
set xlabel "iteration"
set ylabel "accuracy"
set key bottom right
set autoscale
plot dir."/accuracy.dat" u 1:2 w lp t "eps=0.5", '' u 1:3 w lp t "eps=1", '' u 1:4 w lp t "eps=2", \
     '' u 1:5 w lp t "eps=4", '' u 1:6 w lp t "eps=inf", '' u 1:7 w l lw 2 dt 2 t "non-private centralised"
