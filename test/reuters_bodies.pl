#!/usr/bin/perl
# Print the article bodies of the Reuters-21578 SGML files given as
# arguments as CSV rows "newid,body" for COPY ... (FORMAT csv).
# Bodies are the text inside <BODY>...</BODY>; the SGML entities &lt; &gt;
# &amp; and numeric character references are decoded, and control
# characters other than newline and tab (the &#3; end-of-text mark) are
# dropped.  The files are ASCII; the output is UTF-8.
#
# Also usable as a library: require it and call read_reuters_bodies(@files),
# which returns a list of [newid, body].
use strict;
use warnings;

sub read_reuters_bodies {
	my @bodies;
	for my $file (@_) {
		open(my $fh, '<:encoding(latin1)', $file) or die "cannot read $file: $!\n";
		local $/;
		my $sgml = <$fh>;
		close($fh);
		while ($sgml =~ m{<REUTERS\b[^>]*\bNEWID="(\d+)"[^>]*>(.*?)</REUTERS>}gs) {
			my ($id, $article) = ($1, $2);
			next unless $article =~ m{<BODY>(.*?)</BODY>}s;
			my $body = $1;
			$body =~ s/&lt;/</g;
			$body =~ s/&gt;/>/g;
			$body =~ s/&#(\d+);/($1 >= 32 && $1 != 127) || $1 == 9 || $1 == 10 ? chr($1) : ''/ge;
			$body =~ s/&amp;/&/g;
			$body =~ s/[\x00-\x08\x0b-\x1f\x7f]//g;
			push @bodies, [$id, $body];
		}
	}
	return @bodies;
}

unless (caller) {
	binmode(STDOUT, ':encoding(UTF-8)');
	for my $row (read_reuters_bodies(@ARGV)) {
		(my $body = $row->[1]) =~ s/"/""/g;
		print "$row->[0],\"$body\"\n";
	}
}
1;
