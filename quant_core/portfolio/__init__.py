"""From signal to money: long-short books, execution costs, the daily ledger gross -> net, PnL
attribution to factors, and capacity. Pure numpy on (dates x assets) matrices."""
