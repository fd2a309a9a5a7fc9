#!/usr/bin/perl
# Build a synthetic news corpus with known near-duplicates from the
# Reuters-21578 bodies, for the 1M-article benchmark of issue 3.
#
#   synth_duplicates.pl ARTICLES COPY_RATE SEED TRUTH_FILE reut2-*.sgm
#
# Prints ARTICLES rows "id,body" (CSV for COPY) on stdout.  An original
# article is three random passages (30 to 150 words) of three random
# Reuters bodies, so originals are distinct from one another.  After an
# original, with probability COPY_RATE, comes an edited copy of it, one of:
#   cut     the last 5-20% of the words dropped
#   insert  a passage of 5-15% more words from another body put in at a
#           random place
#   edit    each word replaced, with probability 1-3%, by a random word
# TRUTH_FILE receives one CSV row "original_id,copy_id,kind,rate" per copy.
# Deterministic for a given SEED.
use strict;
use warnings;
use FindBin;
require "$FindBin::Bin/reuters_bodies.pl";

my ($articles, $copy_rate, $seed, $truth_file, @files) = @ARGV;
die "usage: $0 ARTICLES COPY_RATE SEED TRUTH_FILE reut2-*.sgm\n" unless @files;
srand($seed);

my @bodies = grep { @$_ >= 20 } map { [split ' ', $_->[1]] } read_reuters_bodies(@files);
my @vocabulary = map { @$_ } @bodies[0 .. 999];

# A random run of 30 to 150 words (or the whole body) of a random body.
sub random_passage {
	my ($min, $max) = @_;
	my $body = $bodies[int(rand(@bodies))];
	my $len = $min + int(rand($max - $min + 1));
	$len = @$body if $len > @$body;
	my $start = int(rand(@$body - $len + 1));
	return @$body[$start .. $start + $len - 1];
}

sub emit {
	my ($id, $words) = @_;
	(my $text = join(' ', @$words)) =~ s/"/""/g;
	print "$id,\"$text\"\n";
}

binmode(STDOUT, ':encoding(UTF-8)');
open(my $truth, '>', $truth_file) or die "cannot write $truth_file: $!\n";
my $id = 0;
while ($id < $articles) {
	my @original = (random_passage(30, 150), random_passage(30, 150), random_passage(30, 150));
	my $original_id = ++$id;
	emit($original_id, \@original);
	next unless $id < $articles && rand() < $copy_rate;

	my @copy = @original;
	my $kind = (qw(cut insert edit))[int(rand(3))];
	my $rate;
	if ($kind eq 'cut') {
		$rate = 0.05 + rand(0.15);
		splice(@copy, @copy - int(@copy * $rate));
	} elsif ($kind eq 'insert') {
		$rate = 0.05 + rand(0.10);
		my $n = int(@copy * $rate) || 1;
		my @extra = random_passage($n, $n);
		splice(@copy, int(rand(@copy + 1)), 0, @extra);
	} else {
		$rate = 0.01 + rand(0.02);
		for my $w (@copy) {
			$w = $vocabulary[int(rand(@vocabulary))] if rand() < $rate;
		}
	}
	my $copy_id = ++$id;
	emit($copy_id, \@copy);
	printf $truth "%d,%d,%s,%.3f\n", $original_id, $copy_id, $kind, $rate;
}
close($truth);
